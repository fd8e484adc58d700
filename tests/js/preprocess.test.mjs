// preprocess.js agrees with the Python implementation (golden vectors) and never breaks.
// Run from the repository root: node --test tests/js/

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import {
  DrawingError,
  SPEC_VERSION,
  checkSpec,
  createPreprocessor,
  drawingToBitmap,
  normalize,
  parseStrokes,
  renderPixelStrokes,
  simplify,
  toPixelSpace,
} from "../../webapp/static/js/preprocess.js";

const SPEC = JSON.parse(
  readFileSync(new URL("../../preprocessing/spec.json", import.meta.url), "utf8"),
);
const GOLDEN_DIR = new URL("../golden/", import.meta.url);
// decision.json holds the decision rule's vectors (tests/js/decision.test.mjs), not preprocessing's.
const GOLDEN_FILES = readdirSync(GOLDEN_DIR).filter((name) => name.endsWith(".json") && name !== "decision.json");
const PIXELS = SPEC.image_size * SPEC.image_size;
const MEAN_TOLERANCE = 3 / 255;
const MAX_TOLERANCE = 64 / 255;

function loadGolden(name) {
  return JSON.parse(readFileSync(new URL(name, GOLDEN_DIR), "utf8"));
}

function differences(actual, expected) {
  let sum = 0;
  let max = 0;
  for (let index = 0; index < expected.length; index += 1) {
    const difference = Math.abs(actual[index] - expected[index]);
    sum += difference;
    max = Math.max(max, difference);
  }
  return { mean: sum / expected.length, max };
}

// Indices of the points simplification kept (exact copies, in order), as generate.py finds them.
function keptIndices(points, kept) {
  const indices = [];
  let next = 0;
  for (let index = 0; index < points.length / 2; index += 1) {
    const same = points[2 * index] === kept[next] && points[2 * index + 1] === kept[next + 1];
    if (next < kept.length && same) {
      indices.push(index);
      next += 2;
    }
  }
  return indices;
}

function assertValidBitmap(bitmap) {
  assert.ok(bitmap instanceof Float32Array, "a Float32Array");
  assert.equal(bitmap.length, PIXELS);
  for (const value of bitmap) {
    assert.ok(value >= 0 && value <= 1, `value ${value} outside [0, 1]`);
  }
}

function seededRandom(seed) {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

test("the spec is the version this file implements", () => {
  assert.equal(SPEC.version, SPEC_VERSION);
  assert.ok(GOLDEN_FILES.length >= 2, "golden files present");
  for (const name of GOLDEN_FILES) {
    assert.deepEqual(loadGolden(name).spec, SPEC, `${name} was made with another spec`);
  }
});

for (const name of GOLDEN_FILES) {
  test(`agrees with every Python golden vector in ${name}`, (context) => {
    const golden = loadGolden(name);
    let worstMax = 0;
    let worstMean = 0;
    for (const vector of golden.vectors) {
      const bitmap = drawingToBitmap(vector.strokes, golden.spec);
      assertValidBitmap(bitmap);
      const { mean, max } = differences(bitmap, vector.expected);
      assert.ok(mean <= MEAN_TOLERANCE, `${vector.name}: mean difference ${mean * 255}/255`);
      assert.ok(max <= MAX_TOLERANCE, `${vector.name}: max difference ${max * 255}/255`);
      worstMax = Math.max(worstMax, max);
      worstMean = Math.max(worstMean, mean);
      // The same points survive simplification as in Python: the steps agree, not just
      // the pixels.
      const kept = normalize(parseStrokes(vector.strokes), golden.spec).map((points) =>
        keptIndices(points, simplify(points, golden.spec.simplify_epsilon)),
      );
      assert.deepEqual(kept, vector.kept_indices, `${vector.name}: kept points`);
    }
    context.diagnostic(
      `${golden.vectors.length} vectors: worst max ${(worstMax * 255).toFixed(4)}/255, ` +
        `worst mean ${(worstMean * 255).toFixed(5)}/255`,
    );
  });
}

test("the same drawing on any canvas gives the same bitmap", () => {
  const groups = new Map();
  for (const vector of loadGolden("invariance.json").vectors) {
    const shape = vector.name.split("@")[0];
    if (!groups.has(shape)) groups.set(shape, []);
    groups.get(shape).push(drawingToBitmap(vector.strokes, SPEC));
  }
  assert.ok(groups.size >= 3);
  for (const [shape, bitmaps] of groups) {
    assert.ok(bitmaps.length >= 5, `${shape}: canvases`);
    for (const bitmap of bitmaps.slice(1)) {
      assert.ok(differences(bitmap, bitmaps[0]).mean <= MEAN_TOLERANCE, shape);
    }
  }
});

test("scale and translation do not change the bitmap", () => {
  const base = [
    [[0, 40, 80, 80, 0], [0, 10, 0, 60, 60]],
    [[20, 60], [30, 30]],
  ];
  const reference = drawingToBitmap(base, SPEC);
  for (const scale of [1e-6, 0.37, 123, 1e9]) {
    for (const [shiftX, shiftY] of [[0, 0], [-5000.5, 77.25], [1e6, -1e6]]) {
      const moved = base.map(([xs, ys]) => [
        xs.map((x) => x * scale + shiftX),
        ys.map((y) => y * scale + shiftY),
      ]);
      const { mean } = differences(drawingToBitmap(moved, SPEC), reference);
      assert.ok(mean <= MEAN_TOLERANCE, `scale ${scale}, shift ${shiftX},${shiftY}: ${mean}`);
    }
  }
});

test("an empty drawing throws a clear Error", () => {
  for (const empty of [[], [[[], []]], [[[], []], [[], [], []]]]) {
    assert.throws(() => drawingToBitmap(empty, SPEC), (error) => {
      assert.ok(error instanceof Error && error instanceof DrawingError);
      assert.match(error.message, /empty/);
      return true;
    });
  }
});

const MALFORMED = [
  ["not a list", { strokes: [] }, /list of strokes/],
  ["a string", "[[[1],[2]]]", /list of strokes/],
  ["null", null, /list of strokes/],
  ["stroke not a list", [5], /stroke 0 must be/],
  ["stroke with one list", [[[1, 2]]], /stroke 0 must be/],
  ["stroke with four lists", [[[1], [2], [3], [4]]], /stroke 0 must be/],
  ["flat points", [[1, 2], [3, 4]], /x and y must be lists/],
  ["string coordinate", [[[1, "2"], [3, 4]]], /coordinates must be numbers/],
  ["boolean coordinate", [[[true, 2], [3, 4]]], /coordinates must be numbers/],
  ["null coordinate", [[[null], [1]]], /coordinates must be numbers/],
  // eslint-disable-next-line no-sparse-arrays
  ["hole in the list", [[[1, , 3], [1, 2, 3]]], /coordinates must be numbers/],
  ["NaN", [[[NaN, 1], [1, 2]]], /finite/],
  ["Infinity", [[[1, 2], [Infinity, 2]]], /finite/],
  ["mismatched lengths", [[[1, 2, 3], [1, 2]]], /3 x values but 2 y values/],
  ["second stroke bad", [[[1], [1]], [[1], "y"]], /stroke 1/],
  ["three [x, y] pairs", [[[10, 20], [30, 40], [50, 45]]], /stroke 0: the third list must be timestamps/],
  ["fewer times than points", [[[1, 2, 3], [1, 2, 3], [0, 16]]], /third list must be timestamps/],
  ["a negative time", [[[1, 2], [1, 2], [-5, 0]]], /third list must be timestamps/],
];

for (const [description, raw, message] of MALFORMED) {
  test(`refuses a malformed drawing: ${description}`, () => {
    assert.throws(() => drawingToBitmap(raw, SPEC), (error) => {
      assert.ok(error instanceof DrawingError, `DrawingError, got ${error}`);
      assert.match(error.message, message);
      return true;
    });
  });
}

test("limits on strokes and points", () => {
  const threeStrokes = [[[0, 1], [0, 1]], [[0, 1], [0, 1]], [[0, 1], [0, 1]]];
  assert.throws(
    () => drawingToBitmap(threeStrokes, SPEC, { maxStrokes: 2 }),
    /too many strokes: 3/,
  );
  assert.throws(() => drawingToBitmap(threeStrokes, SPEC, { maxPoints: 5 }), /too many points/);
  assertValidBitmap(drawingToBitmap(threeStrokes, SPEC, { maxStrokes: 3, maxPoints: 6 }));
});

test("degenerate drawings render without NaN and with ink", () => {
  const cases = {
    "one point": [[[5], [7]]],
    "one point repeated": [[[5, 5, 5], [7, 7, 7]]],
    "one stroke": [[[0, 10], [0, 0]]],
    "two identical dots": [[[3], [3]], [[3], [3]]],
    "huge coordinates": [[[1e300, -1e300], [0, 1.7976931348623157e308]]],
    "largest doubles": [[[Number.MAX_VALUE, -Number.MAX_VALUE], [0, 1]]],
    "subnormal extent": [[[0, 5e-324], [0, 5e-324]]],
    "tiny extent": [[[1, 1 + 1e-12], [2, 2]]],
    "with timestamps": [[[0, 10, 20], [0, 5, 0], [0, 16, 33]]],
    "typed arrays": [[new Float64Array([0, 30, 60]), new Float32Array([0, 40, 0])]],
  };
  for (const [description, raw] of Object.entries(cases)) {
    const bitmap = drawingToBitmap(raw, SPEC);
    assertValidBitmap(bitmap);
    assert.ok(Math.max(...bitmap) > 0.5, `${description}: visible ink`);
  }
});

test("a single dot is a dot in the centre", () => {
  const bitmap = drawingToBitmap([[[123], [45]]], SPEC);
  const size = SPEC.image_size;
  for (let row = 0; row < size; row += 1) {
    for (let column = 0; column < size; column += 1) {
      const value = bitmap[row * size + column];
      assert.equal(value, bitmap[column * size + row], "symmetric");
      if (value > 0) {
        assert.ok(Math.abs(row + 0.5 - size / 2) < 2 && Math.abs(column + 0.5 - size / 2) < 2);
      }
    }
  }
});

test("a hundred thousand points", () => {
  const random = seededRandom(7);
  const xs = [];
  const ys = [];
  let x = 0;
  let y = 0;
  for (let index = 0; index < 100_000; index += 1) {
    x += random() - 0.5;
    y += random() - 0.5;
    xs.push(x);
    ys.push(y);
  }
  const bitmap = drawingToBitmap([[xs, ys]], SPEC);
  assertValidBitmap(bitmap);
  assert.ok(bitmap.reduce((sum, value) => sum + value, 0) > 50);
});

test("random drawings never produce NaN", () => {
  const random = seededRandom(11);
  for (let drawing = 0; drawing < 300; drawing += 1) {
    const strokes = [];
    const strokeCount = 1 + Math.floor(random() * 5);
    const magnitude = 10 ** (Math.floor(random() * 40) - 20);
    for (let stroke = 0; stroke < strokeCount; stroke += 1) {
      const count = 1 + Math.floor(random() * 40);
      const xs = Array.from({ length: count }, () => (random() - 0.5) * magnitude);
      // Some repeated values, so that duplicate points and flat strokes occur.
      const ys = Array.from({ length: count }, () =>
        random() < 0.1 ? xs[0] : random() * magnitude,
      );
      strokes.push([xs, ys]);
    }
    assertValidBitmap(drawingToBitmap(strokes, SPEC));
  }
});

test("simplify keeps the first of equally far points", () => {
  const tie = new Float64Array([0, 0, 1, 2, 2, 1.9, 3, 2, 4, 0]);
  assert.deepEqual(Array.from(simplify(tie, 1.95)), [0, 0, 1, 2, 4, 0]);
  const straight = new Float64Array(200_000);
  for (let index = 0; index < 100_000; index += 1) straight[2 * index] = index;
  assert.equal(simplify(straight, SPEC.simplify_epsilon).length, 4);
});

test("the steps compose into drawingToBitmap", () => {
  const raw = [[[10, 200, 390], [20, 300, 40]], [[50], [60]]];
  const strokes = parseStrokes(raw);
  const normalized = normalize(strokes, SPEC);
  // Top-left at 0, longest side (x: 380 units) scaled to 255.
  const expected = [0, 0, 127.5, (140 / 190) * 255, 255, (10 / 190) * 255];
  assert.deepEqual(Array.from(normalized[0]), expected);
  assert.deepEqual(Array.from(normalized[1]), [(20 / 190) * 255, (20 / 190) * 255]);
  const simplified = normalized.map((points) => simplify(points, SPEC.simplify_epsilon));
  const bitmap = renderPixelStrokes(toPixelSpace(simplified, SPEC), SPEC);
  assert.deepEqual(bitmap, drawingToBitmap(raw, SPEC));
});

test("the spec is checked", () => {
  assert.throws(() => drawingToBitmap([[[0], [0]]], undefined), /spec missing/);
  assert.throws(() => checkSpec({ ...SPEC, version: "qd-bitmap-0" }), /differs/);
  assert.throws(() => checkSpec({ ...SPEC, pixel_scale: "0.09" }), /pixel_scale/);
  assert.throws(() => checkSpec({ ...SPEC, image_size: 28.5 }), /image_size/);
  const { pen_radius_px: _unused, ...withoutRadius } = SPEC;
  assert.throws(() => checkSpec(withoutRadius), /pen_radius_px/);
});

test("createPreprocessor checks its spec once, up front, and renders like drawingToBitmap", () => {
  assert.throws(() => createPreprocessor({ ...SPEC, version: "qd-bitmap-0" }), /differs from the one/);
  const toBitmap = createPreprocessor(SPEC);
  const strokes = [[[10, 200, 200, 10, 10], [10, 10, 200, 200, 10]]];
  assert.deepEqual(toBitmap(strokes), drawingToBitmap(strokes, SPEC));
});
