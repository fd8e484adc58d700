"""DoodleNet, the teacher: a CNN trained on 50,000 drawings of each of Quick Draw's 345 categories.

The files in ``training/teachers/doodlenet/`` are ml5's TF.js *layers* model, byte for byte
(provenance and license in that folder's README.md and LICENSE). It is rebuilt here layer
for layer in Keras 3 and its weights are read straight from the shard, rather than through
``tensorflowjs.converters.load_keras_model``, which builds a tf_keras (Keras 2) model that
the rest of the project's Keras 3 code cannot train or save.

Input: float32 (N, 28, 28, 1), ink 1 on 0, the project's own convention. Outputs: 345
probabilities in the order of ``class_names.txt`` (its training run's file order, not
alphabetical); ``categories()`` gives them as Quick Draw spells them (spaces, not ``_``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from preprocessing.categories import all_categories

TEACHERS = ("none", "doodlenet")
DOODLENET_DIR = Path(__file__).with_name("teachers") / "doodlenet"
TOPOLOGY_FILE = "model.json"
NAMES_FILE = "class_names.txt"


@lru_cache(maxsize=1)
def categories() -> tuple[str, ...]:
    """The teacher's 345 outputs as Quick Draw category names, in output order."""
    names = tuple(line.strip().replace("_", " ")
                  for line in (DOODLENET_DIR / NAMES_FILE).read_text().splitlines() if line.strip())
    unknown = sorted(set(names) - set(all_categories()))
    if unknown or len(names) != len(set(names)):
        raise ValueError(f"{DOODLENET_DIR / NAMES_FILE} does not list Quick Draw's categories once each"
                         f" (unknown: {', '.join(unknown[:5]) or 'none'})")
    return names


def indices(names: list[str] | tuple[str, ...]) -> list[int]:
    """Each category's position among the teacher's outputs; ValueError for a name it lacks."""
    position = {name: index for index, name in enumerate(categories())}
    missing = [name for name in names if name not in position]
    if missing:
        raise ValueError(f"the teacher has no output for {', '.join(missing)}")
    return [position[name] for name in names]


def build_network(name: str = "doodlenet"):
    """DoodleNet's layers, untrained: the same shapes, names and activations as its model.json."""
    import keras
    from keras import layers

    from training.model import INPUT_SHAPE

    bitmap = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    x = bitmap
    for block, filters in enumerate((16, 32, 64)):
        for repeat in range(2):
            layer_name = "conv2d" if block == repeat == 0 else f"conv2d_{2 * block + repeat}"
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=layer_name)(x)
        x = layers.MaxPooling2D(2, name="max_pooling2d" + (f"_{block}" if block else ""))(x)
    x = layers.Dropout(0.1, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="tanh", name="dense")(x)
    outputs = layers.Dense(len(categories()), activation="softmax", name="probabilities")(x)
    return keras.Model(bitmap, outputs, name=name)


def load(folder: Path = DOODLENET_DIR, name: str = "doodlenet"):
    """The trained teacher as a Keras 3 model (weights read from its TF.js shard)."""
    topology = json.loads((folder / TOPOLOGY_FILE).read_text())
    model = build_network(name)
    arrays = []
    for group in topology["weightsManifest"]:
        buffer = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for entry in group["weights"]:
            if entry["dtype"] != "float32":
                raise ValueError(f"{folder}: weight {entry['name']} is {entry['dtype']}, expected float32")
            count = int(np.prod(entry["shape"]))
            arrays.append(np.frombuffer(buffer, "<f4", count, offset).reshape(entry["shape"]))
            offset += 4 * count
        if offset != len(buffer):
            raise ValueError(f"{folder}: the weight shard holds {len(buffer)} bytes, the manifest {offset}")
    # Layers with weights, in model order, are the manifest's order (kernel, bias each).
    model.set_weights(arrays)
    return model


def output_order(named: list[str] | tuple[str, ...]) -> list[int]:
    """The teacher's outputs with a set's categories first (in the set's order), then the rest.

    A student learns in this order, so its first outputs are the set's categories and the
    rest sum into "none of these", the layout ``training.model.group_other`` expects.
    """
    first = indices(named)
    chosen = set(first)
    return first + [index for index in range(len(categories())) if index not in chosen]


def kind_positions(named: list[str] | tuple[str, ...], other_names: list[str]) -> np.ndarray:
    """For each negative category of a dataset, its output in ``output_order(named)``."""
    position = {categories()[index]: place for place, index in enumerate(output_order(named))}
    missing = [name for name in other_names if name not in position]
    if missing:
        raise ValueError(f"the teacher has no output for {', '.join(missing[:5])}")
    return np.asarray([position[name] for name in other_names], dtype=np.int64)


def load_for(named: list[str] | tuple[str, ...], name: str = "doodlenet"):
    """The teacher with its outputs in ``output_order(named)``: the set's categories first."""
    network = load(name=name)
    reorder_outputs(network, output_order(named))
    return network


def reorder_outputs(network, order: list[int]) -> None:
    """Permute the final Dense layer's units in place so output i is the teacher's ``order[i]``."""
    layer = network.get_layer("probabilities")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel[:, order], bias[order]])
