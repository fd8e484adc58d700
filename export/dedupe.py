"""Store each distinct weight once in a converted graph model.

A layer called twice (the default model runs its classifier on a drawing and on its mirror
image) becomes two copies of every constant once TensorFlow freezes the graph, and the
converter writes both. Identical constants are interchangeable, so keeping the first and
pointing the other nodes at it halves such a model's download without changing a single
number; the exporter's parity check confirms it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILENAME = "model.json"
SHARD_BYTES = 4 * 1024 * 1024  # The converter's default shard size.
_BYTES_PER_VALUE = {"float32": 4, "int32": 4, "bool": 1, "float16": 2, "uint8": 1, "uint16": 2}


def _byte_length(spec: dict[str, Any]) -> int | None:
    """Bytes one weight occupies in the shards, or None for kinds this module leaves alone (strings)."""
    stored = (spec.get("quantization") or {}).get("dtype", spec["dtype"])
    if stored not in _BYTES_PER_VALUE:
        return None
    return int(np.prod(spec["shape"], dtype=np.int64)) * _BYTES_PER_VALUE[stored]


def _base_name(reference: str) -> str:
    """The node a graph input names: ``^name`` (control) and ``name:1`` (second output) -> ``name``."""
    return reference.lstrip("^").split(":", 1)[0]


def deduplicate_weights(web_dir: Path) -> int:
    """Merge identical weights of the graph model in ``web_dir`` in place; return the bytes saved."""
    web_dir = Path(web_dir)
    model_json = json.loads((web_dir / MODEL_FILENAME).read_text())
    topology = model_json["modelTopology"]
    manifest = model_json["weightsManifest"]
    # Function libraries (control flow) and initializers hold node references of their own:
    # such graphs are left exactly as the converter wrote them.
    if len(manifest) != 1 or topology.get("library") or model_json.get("modelInitializer"):
        return 0
    group = manifest[0]
    old_paths = [web_dir / name for name in group["paths"]]
    data = b"".join(path.read_bytes() for path in old_paths)
    specs = group["weights"]
    lengths = [_byte_length(spec) for spec in specs]
    if None in lengths or sum(lengths) != len(data):
        return 0

    signature_names = {_base_name(tensor["name"]) for part in ("inputs", "outputs")
                       for tensor in (model_json.get("signature") or {}).get(part, {}).values()}
    kept_specs, kept_chunks, replacement = [], [], {}
    first_by_content: dict[tuple[str, str], str] = {}
    offset = 0
    for spec, length in zip(specs, lengths, strict=True):
        chunk = data[offset:offset + length]
        offset += length
        description = json.dumps({key: value for key, value in spec.items() if key != "name"}, sort_keys=True)
        key = (description, hashlib.sha256(chunk).hexdigest())
        if key in first_by_content and spec["name"] not in signature_names:
            replacement[spec["name"]] = first_by_content[key]
            continue
        first_by_content.setdefault(key, spec["name"])
        kept_specs.append(spec)
        kept_chunks.append(chunk)
    if not replacement:
        return 0

    topology["node"] = [node for node in topology["node"] if node["name"] not in replacement]
    for node in topology["node"]:
        if "input" in node:
            node["input"] = [_redirect(reference, replacement) for reference in node["input"]]
    kept = b"".join(kept_chunks)
    shard_count = max(1, -(-len(kept) // SHARD_BYTES))
    new_names = [f"group1-shard{index + 1}of{shard_count}.bin" for index in range(shard_count)]
    for path in old_paths:
        path.unlink()
    for index, name in enumerate(new_names):
        (web_dir / name).write_bytes(kept[index * SHARD_BYTES:(index + 1) * SHARD_BYTES])
    group["paths"] = new_names
    group["weights"] = kept_specs
    (web_dir / MODEL_FILENAME).write_text(json.dumps(model_json))
    return len(data) - len(kept)


def _redirect(reference: str, replacement: dict[str, str]) -> str:
    """Point a node input at the kept copy of a merged constant, keeping its ``^`` and ``:n`` parts."""
    name = _base_name(reference)
    if name not in replacement:
        return reference
    return reference.replace(name, replacement[name], 1)
