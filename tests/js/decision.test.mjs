// decide() in model.js answers the shared golden vectors exactly as preprocessing/decision.py does.
// Run from the repository root: node --test tests/js/

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { decide, drawingExtent } from "../../webapp/static/js/model.js";

const VECTORS = JSON.parse(readFileSync(new URL("../golden/decision.json", import.meta.url), "utf8"));

for (const vector of VECTORS) {
  test(`decide: ${vector.name}`, () => {
    const answer = decide(vector.probabilities, vector.decision, vector.extent, vector.points);
    assert.deepEqual(answer, vector.expected);
  });
}

test("drawingExtent is the longest side of the bounding box and counts points", () => {
  assert.deepEqual(drawingExtent([]), { extent: 0, points: 0 });
  assert.deepEqual(drawingExtent([[[10, 20], [10, 10]], [[15, 15], [0, 60]]]), { extent: 60, points: 4 });
});
