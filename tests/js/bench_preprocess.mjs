// Time drawingToBitmap in Node for drawings of typical and extreme sizes (not a test:
// `node --test tests/js/` skips this file). Usage: node tests/js/bench_preprocess.mjs

import { readFileSync } from "node:fs";

import { drawingToBitmap } from "../../webapp/static/js/preprocess.js";

const SPEC = JSON.parse(
  readFileSync(new URL("../../preprocessing/spec.json", import.meta.url), "utf8"),
);
const CASES = [
  { strokes: 10, points: 30, repeats: 5000 }, // A typical drawing: 10 strokes, 300 points.
  { strokes: 20, points: 100, repeats: 2000 },
  { strokes: 1, points: 100_000, repeats: 20 },
];

function seededRandom(seed) {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

// Smooth wandering strokes on a 600-px canvas, in whole pixels like pointer events.
function wanderingDrawing(strokeCount, pointCount, random) {
  const strokes = [];
  for (let stroke = 0; stroke < strokeCount; stroke += 1) {
    const xs = [];
    const ys = [];
    let x = random() * 600;
    let y = random() * 600;
    let heading = random() * 2 * Math.PI;
    for (let point = 0; point < pointCount; point += 1) {
      heading += (random() - 0.5) * 0.6;
      x += Math.cos(heading) * 6;
      y += Math.sin(heading) * 6;
      xs.push(Math.round(x));
      ys.push(Math.round(y));
    }
    strokes.push([xs, ys]);
  }
  return strokes;
}

const random = seededRandom(1);
for (const { strokes, points, repeats } of CASES) {
  const drawing = wanderingDrawing(strokes, points, random);
  for (let warmup = 0; warmup < Math.min(repeats, 200); warmup += 1) drawingToBitmap(drawing, SPEC);
  const start = performance.now();
  for (let repeat = 0; repeat < repeats; repeat += 1) drawingToBitmap(drawing, SPEC);
  const microseconds = ((performance.now() - start) / repeats) * 1000;
  console.log(`${strokes} strokes x ${points} points: ${microseconds.toFixed(1)} us per drawing`);
}
