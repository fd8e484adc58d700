"""The spec JavaScript reads is the spec Python renders with."""

from __future__ import annotations

import json
import re

from preprocessing import spec

PREPROCESS_JS = spec.SPEC_JSON_PATH.parents[1] / "webapp" / "static" / "js" / "preprocess.js"


def test_spec_json_equals_spec_dict():
    assert json.loads(spec.SPEC_JSON_PATH.read_text()) == spec.spec_dict()


def test_derived_constants_follow_their_formulas():
    values = spec.spec_dict()
    assert values["total_padding"] == 2 * values["padding"] + values["pen_diameter"]
    padded_side = values["source_side"] + values["total_padding"]
    assert values["pixel_scale"] == values["image_size"] / padded_side
    assert values["pen_radius_px"] == values["pen_diameter"] / 2 * values["pixel_scale"]
    # JSON carries these doubles exactly, so JavaScript computes with the same numbers.
    assert json.loads(json.dumps(values)) == values


def test_javascript_implements_this_spec_version():
    declared = re.search(r'export const SPEC_VERSION = "([^"]+)"', PREPROCESS_JS.read_text())
    assert declared is not None, "preprocess.js must export SPEC_VERSION"
    assert declared.group(1) == spec.SPEC_VERSION
