"""metadata.json: what the web app and the Python server accept, and what they refuse."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from export.metadata import (
    EXPECTED_FORMAT,
    MetadataError,
    build_metadata,
    load_metadata,
    validate_metadata,
    write_metadata,
)
from preprocessing.spec import SPEC_VERSION, spec_dict
from training.categories import DEFAULT_CATEGORIES


@pytest.fixture()
def good() -> dict[str, Any]:
    """Valid metadata for the default categories."""
    return build_metadata(version="0123456789ab", categories=DEFAULT_CATEGORIES, quantization="uint8",
                          metrics={"accuracy": 0.9}, keras_model_sha256="0" * 64, git_commit="abc")


def test_built_metadata_has_the_fields_the_web_app_reads(good: dict[str, Any]) -> None:
    assert good["format"] == EXPECTED_FORMAT == "tfjs-graph-model"
    assert good["model_url"] == "model.json"
    assert good["categories"] == list(DEFAULT_CATEGORIES)
    assert good["input_shape"] == [28, 28, 1]
    assert good["preprocessing"] == spec_dict()
    assert good["quantization"] == "uint8"
    assert good["metrics"] == {"accuracy": 0.9}
    assert validate_metadata(good, DEFAULT_CATEGORIES) is good
    json.dumps(good)  # Plain JSON, readable by the browser.


def _without(key: str) -> Any:
    """An edit that deletes ``key``."""
    return lambda metadata: metadata.pop(key)


def _set(key: str, value: Any) -> Any:
    """An edit that sets ``key`` to ``value``."""
    return lambda metadata: metadata.__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("format", "layers-model"), "format"),
        (_without("format"), "format"),
        (_without("categories"), "categories"),
        (_set("categories", []), "categories"),
        (_set("categories", ["bowtie"]), "at least two"),
        (_set("categories", ["bowtie", "bowtie", "sock"]), "repeat"),
        (_set("categories", ["bowtie", 3]), "strings"),
        (_set("categories", ["bowtie", ""]), "strings"),
        (_set("categories", "bowtie,sock"), "categories"),
        (_set("input_shape", [28, 28]), "input_shape"),
        (_set("input_shape", [32, 32, 1]), "input_shape"),
        (_without("input_shape"), "input_shape"),
        (lambda metadata: metadata["preprocessing"].__setitem__("version", "qd-bitmap-0"), "preprocessing version"),
        (_set("preprocessing", None), "preprocessing version"),
        (_set("quantization", "int4"), "quantization"),
        (_without("quantization"), "quantization"),
        (_set("version", ""), "version"),
        (_without("version"), "version"),
        (_set("model_url", ""), "model_url"),
    ],
)
def test_validate_rejects_each_broken_field(good: dict[str, Any], edit: Any, message: str) -> None:
    broken = copy.deepcopy(good)
    edit(broken)
    with pytest.raises(MetadataError, match=message):
        validate_metadata(broken)


def test_validate_rejects_a_non_object() -> None:
    with pytest.raises(MetadataError, match="JSON object"):
        validate_metadata(["tfjs-graph-model"])  # type: ignore[arg-type]


def test_metadata_error_is_a_value_error() -> None:
    assert issubclass(MetadataError, ValueError)


@pytest.mark.parametrize("quantization", [None, "float16", "uint8"])
def test_each_quantization_is_accepted(good: dict[str, Any], quantization: str | None) -> None:
    good["quantization"] = quantization
    assert validate_metadata(good)["quantization"] == quantization


def test_unexpected_categories_name_both_lists(good: dict[str, Any]) -> None:
    expected = ["bowtie", "sock"]
    with pytest.raises(MetadataError) as raised:
        validate_metadata(good, expected)
    assert str(list(DEFAULT_CATEGORIES)) in str(raised.value)
    assert str(expected) in str(raised.value)


def test_same_categories_in_another_order_are_refused(good: dict[str, Any]) -> None:
    with pytest.raises(MetadataError, match="order"):
        validate_metadata(good, list(reversed(DEFAULT_CATEGORIES)))


def test_load_without_an_export_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match=r"no exported model at .*run `make export`"):
        load_metadata(tmp_path / "model")


def test_load_refuses_unreadable_json(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(MetadataError, match="cannot read"):
        load_metadata(tmp_path)


def test_load_refuses_metadata_without_its_model(tmp_path: Path, good: dict[str, Any]) -> None:
    write_metadata(tmp_path, good)
    with pytest.raises(MetadataError, match="model.json"):
        load_metadata(tmp_path)


def test_write_then_load_round_trips(tmp_path: Path, good: dict[str, Any]) -> None:
    write_metadata(tmp_path, good)
    (tmp_path / "model.json").write_text("{}")
    assert load_metadata(tmp_path, DEFAULT_CATEGORIES) == good
    assert load_metadata(tmp_path)["preprocessing"]["version"] == SPEC_VERSION
    assert [path.name for path in tmp_path.iterdir()] != []  # No leftover partial file:
    assert not list(tmp_path.glob("*.partial"))


def test_write_refuses_invalid_metadata(tmp_path: Path, good: dict[str, Any]) -> None:
    good["categories"] = []
    with pytest.raises(MetadataError):
        write_metadata(tmp_path, good)
    assert not (tmp_path / "metadata.json").exists()
