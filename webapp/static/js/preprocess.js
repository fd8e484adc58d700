/**
 * Strokes to a Quick Draw 28x28 bitmap: the JavaScript twin of `preprocessing/strokes.py`.
 *
 * The page calls `drawingToBitmap(strokes, spec)` on every animation frame while a person
 * draws, so the model sees the drawing exactly as training saw Quick Draw's bitmaps. Every
 * constant comes from `spec`, the `preprocessing` object of the model's `metadata.json`
 * (or `preprocessing/spec.json`); `docs/preprocessing.md` is the written contract and the
 * golden vectors in `tests/golden/` keep this file equal to the Python implementation.
 *
 * No DOM: the module runs in browsers and in Node. Strokes travel between the steps as
 * interleaved `Float64Array`s `[x0, y0, x1, y1, ...]`, one per stroke.
 */

/** The spec version this file implements; a model preprocessed any other way is refused. */
export const SPEC_VERSION = "qd-bitmap-1";

const POSITIVE_SPEC_NUMBERS = [
  "image_size",
  "source_side",
  "max_coordinate",
  "pen_diameter",
  "padding",
  "total_padding",
  "pixel_scale",
  "pen_radius_px",
];

/** A drawing that cannot be turned into a bitmap; the message is safe to show a person. */
export class DrawingError extends Error {
  constructor(message) {
    super(message);
    this.name = "DrawingError";
  }
}

/**
 * Check `spec` and return the constants the steps use, with camelCase names.
 * Throws `Error` for a missing spec, a spec of another version or a malformed constant.
 */
export function checkSpec(spec) {
  if (spec === null || typeof spec !== "object") {
    throw new Error('preprocessing spec missing: pass metadata.json\'s "preprocessing" object');
  }
  if (spec.version !== SPEC_VERSION) {
    throw new Error(
      `preprocessing spec "${spec.version}" differs from the one preprocess.js implements ` +
        `("${SPEC_VERSION}")`,
    );
  }
  for (const key of POSITIVE_SPEC_NUMBERS) {
    if (!(Number.isFinite(spec[key]) && spec[key] > 0)) {
      throw new Error(`preprocessing spec: "${key}" must be a positive number`);
    }
  }
  if (!Number.isInteger(spec.image_size)) {
    throw new Error('preprocessing spec: "image_size" must be an integer');
  }
  if (!(Number.isFinite(spec.simplify_epsilon) && spec.simplify_epsilon >= 0)) {
    throw new Error('preprocessing spec: "simplify_epsilon" must be a number >= 0');
  }
  return {
    imageSize: spec.image_size,
    sourceSide: spec.source_side,
    maxCoordinate: spec.max_coordinate,
    simplifyEpsilon: spec.simplify_epsilon,
    totalPadding: spec.total_padding,
    pixelScale: spec.pixel_scale,
    // Distance from a pixel centre at which the pen's coverage falls to 0.
    penReach: spec.pen_radius_px + 0.5,
  };
}

// Each spec object is checked once, however many frames use it: the steps below look its
// constants up here instead of re-validating the spec at every call.
const checkedSpecs = new WeakMap();

function specConstants(spec) {
  let constants = spec !== null && typeof spec === "object" ? checkedSpecs.get(spec) : undefined;
  if (constants === undefined) {
    constants = checkSpec(spec);
    checkedSpecs.set(spec, constants);
  }
  return constants;
}

/**
 * A preprocessor for one spec: checks it now (throwing as `checkSpec` does) and returns
 * `(strokes, limits) => bitmap`, the page's per-frame call.
 */
export function createPreprocessor(spec) {
  specConstants(spec);
  return (strokes, limits = {}) => strokesToBitmap(parseStrokes(strokes, limits), spec);
}

function isNumberList(value) {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/**
 * Whether a stroke's third list can be Quick Draw's timestamps: one per point, >= 0, never
 * decreasing. Three [x, y] pairs would otherwise be read as x, y and time lists.
 */
function isTimestampList(times, count) {
  if (!isNumberList(times) || times.length !== count) {
    return false;
  }
  for (let point = 0; point < count; point += 1) {
    const time = times[point];
    if (typeof time !== "number" || Number.isNaN(time) || time < 0 || time === Infinity) {
      return false;
    }
    if (point > 0 && time < times[point - 1]) {
      return false;
    }
  }
  return true;
}

/**
 * Validate a JSON-like drawing `[[xs, ys], ...]` (a third list of timestamps is allowed,
 * checked and ignored) and return its non-empty strokes as interleaved `Float64Array`s.
 * Throws `DrawingError` for wrong nesting, non-numbers, NaN or infinite coordinates, x and
 * y lists of different lengths, a third list that cannot be timestamps, too many strokes or
 * points, or a drawing with no point.
 */
export function parseStrokes(raw, { maxStrokes = null, maxPoints = null } = {}) {
  if (!Array.isArray(raw)) {
    throw new DrawingError("strokes must be a list of strokes");
  }
  if (maxStrokes !== null && raw.length > maxStrokes) {
    throw new DrawingError(`too many strokes: ${raw.length} (at most ${maxStrokes})`);
  }
  const strokes = [];
  let totalPoints = 0;
  for (let index = 0; index < raw.length; index += 1) {
    const stroke = raw[index];
    if (!Array.isArray(stroke) || (stroke.length !== 2 && stroke.length !== 3)) {
      throw new DrawingError(`stroke ${index} must be [[x...], [y...]] (optionally [t...])`);
    }
    const [xs, ys] = stroke;
    if (!isNumberList(xs) || !isNumberList(ys)) {
      throw new DrawingError(`stroke ${index}: x and y must be lists of numbers`);
    }
    if (xs.length !== ys.length) {
      throw new DrawingError(`stroke ${index}: ${xs.length} x values but ${ys.length} y values`);
    }
    if (stroke.length === 3 && !isTimestampList(stroke[2], xs.length)) {
      throw new DrawingError(
        `stroke ${index}: the third list must be timestamps, one per point and never decreasing` +
          " (send a stroke as [[x...], [y...]], not as [x, y] pairs)",
      );
    }
    totalPoints += xs.length;
    if (maxPoints !== null && totalPoints > maxPoints) {
      throw new DrawingError(`too many points (at most ${maxPoints})`);
    }
    if (xs.length === 0) {
      continue;
    }
    const points = new Float64Array(2 * xs.length);
    let finite = true;
    for (let point = 0; point < xs.length; point += 1) {
      const x = xs[point];
      const y = ys[point];
      if (typeof x !== "number" || typeof y !== "number") {
        throw new DrawingError(`stroke ${index}: coordinates must be numbers`);
      }
      finite = finite && Number.isFinite(x) && Number.isFinite(y);
      points[2 * point] = x;
      points[2 * point + 1] = y;
    }
    // Checked after the types, so the messages match the Python twin's for mixed input.
    if (!finite) {
      throw new DrawingError(`stroke ${index}: coordinates must be finite numbers`);
    }
    strokes.push(points);
  }
  if (strokes.length === 0) {
    throw new DrawingError("the drawing is empty");
  }
  return strokes;
}

function countPoints(strokes) {
  let count = 0;
  for (const points of strokes) {
    count += points.length / 2;
  }
  return count;
}

/**
 * Align to the top-left and scale uniformly so the longest side spans 0..max_coordinate.
 * Coordinates are halved first (exact in binary floating point) and the span divides, as
 * in Python, so that no finite input can overflow; a single dot stays a dot at the origin.
 */
export function normalize(strokes, spec) {
  const { maxCoordinate } = specConstants(spec);
  if (countPoints(strokes) === 0) {
    throw new DrawingError("the drawing is empty");
  }
  let lowX = Infinity;
  let lowY = Infinity;
  let highX = -Infinity;
  let highY = -Infinity;
  for (const points of strokes) {
    for (let index = 0; index < points.length; index += 2) {
      const x = points[index] / 2;
      const y = points[index + 1] / 2;
      if (x < lowX) lowX = x;
      if (x > highX) highX = x;
      if (y < lowY) lowY = y;
      if (y > highY) highY = y;
    }
  }
  const halfExtent = Math.max(highX - lowX, highY - lowY);
  return strokes.map((points) => {
    const normalized = new Float64Array(points.length);
    for (let index = 0; index < points.length; index += 2) {
      const x = points[index] / 2 - lowX;
      const y = points[index + 1] / 2 - lowY;
      normalized[index] = halfExtent === 0 ? x : (x / halfExtent) * maxCoordinate;
      normalized[index + 1] = halfExtent === 0 ? y : (y / halfExtent) * maxCoordinate;
    }
    return normalized;
  });
}

/**
 * Ramer-Douglas-Peucker simplification of one stroke with tolerance `epsilon`, iterative
 * so long strokes cannot overflow the stack. The first point of maximal distance wins ties
 * and every distance is computed with the same operations as Python, so both keep the
 * same points.
 */
export function simplify(points, epsilon) {
  const count = points.length / 2;
  if (count < 3) {
    return points;
  }
  const keep = new Uint8Array(count);
  keep[0] = 1;
  keep[count - 1] = 1;
  let kept = 2;
  const pending = [0, count - 1]; // Pairs (first, last) of ranges still to examine.
  while (pending.length > 0) {
    const last = pending.pop();
    const first = pending.pop();
    if (last - first < 2) {
      continue;
    }
    const startX = points[2 * first];
    const startY = points[2 * first + 1];
    const deltaX = points[2 * last] - startX;
    const deltaY = points[2 * last + 1] - startY;
    const length = Math.sqrt(deltaX * deltaX + deltaY * deltaY);
    let farthest = -1;
    let farthestDistance = -1;
    for (let index = first + 1; index < last; index += 1) {
      const offsetX = points[2 * index] - startX;
      const offsetY = points[2 * index + 1] - startY;
      // A closed chord has no direction: measure the distance to its single point.
      const distance =
        length === 0
          ? Math.sqrt(offsetX * offsetX + offsetY * offsetY)
          : Math.abs(deltaX * offsetY - deltaY * offsetX) / length;
      if (distance > farthestDistance) {
        farthestDistance = distance;
        farthest = index;
      }
    }
    if (farthestDistance > epsilon) {
      keep[farthest] = 1;
      kept += 1;
      pending.push(first, farthest, farthest, last);
    }
  }
  const simplified = new Float64Array(2 * kept);
  let write = 0;
  for (let index = 0; index < count; index += 1) {
    if (keep[index]) {
      simplified[write] = points[2 * index];
      simplified[write + 1] = points[2 * index + 1];
      write += 2;
    }
  }
  return simplified;
}

/**
 * Centre normalised strokes in the source box and map them to pixel coordinates. As in
 * Google's renderer the box is [0, max]: normalised strokes start at 0.
 */
export function toPixelSpace(strokes, spec) {
  const { sourceSide, totalPadding, pixelScale } = specConstants(spec);
  if (countPoints(strokes) === 0) {
    throw new DrawingError("the drawing is empty");
  }
  let highX = -Infinity;
  let highY = -Infinity;
  for (const points of strokes) {
    for (let index = 0; index < points.length; index += 2) {
      if (points[index] > highX) highX = points[index];
      if (points[index + 1] > highY) highY = points[index + 1];
    }
  }
  const offsetX = (sourceSide - highX) / 2 + totalPadding / 2;
  const offsetY = (sourceSide - highY) / 2 + totalPadding / 2;
  return strokes.map((points) => {
    const mapped = new Float64Array(points.length);
    for (let index = 0; index < points.length; index += 2) {
      mapped[index] = (points[index] + offsetX) * pixelScale;
      mapped[index + 1] = (points[index + 1] + offsetY) * pixelScale;
    }
    return mapped;
  });
}

// Working buffers reused across frames: rendering allocates nothing per pixel or segment.
let scratch = { size: 0, nearest: null, image: null };

function scratchFor(size) {
  if (scratch.size !== size) {
    scratch = {
      size,
      nearest: new Float64Array(size * size),
      image: new Float64Array(size * size),
    };
  }
  return scratch;
}

// First and last pixel index whose centre (index + 0.5) lies within [low, high], clipped.
function firstPixel(low) {
  return Math.max(0, Math.ceil(low - 0.5));
}

function lastPixel(high, size) {
  return Math.min(size - 1, Math.floor(high - 0.5));
}

/**
 * Draw strokes already in pixel space into a row-major `Float32Array` of image_size^2.
 * A pixel's coverage by a stroke is `clamp(reach - distance, 0, 1)` with `reach` the pen
 * radius plus half a pixel and `distance` from the pixel centre to the stroke's nearest
 * segment (a one-point stroke is a zero-length segment); each stroke is composited over
 * the ones before with `out += coverage * (1 - out)`.
 */
export function renderPixelStrokes(strokes, spec) {
  const { imageSize: size, penReach: reach } = specConstants(spec);
  const { nearest, image } = scratchFor(size);
  image.fill(0);
  for (const points of strokes) {
    const count = points.length / 2;
    if (count === 0) {
      continue;
    }
    let lowX = Infinity;
    let lowY = Infinity;
    let highX = -Infinity;
    let highY = -Infinity;
    for (let index = 0; index < points.length; index += 2) {
      lowX = Math.min(lowX, points[index]);
      highX = Math.max(highX, points[index]);
      lowY = Math.min(lowY, points[index + 1]);
      highY = Math.max(highY, points[index + 1]);
    }
    // Only pixels within reach of the stroke can be inked; the rest keep coverage 0.
    const strokeFirstColumn = firstPixel(lowX - reach);
    const strokeLastColumn = lastPixel(highX + reach, size);
    const strokeFirstRow = firstPixel(lowY - reach);
    const strokeLastRow = lastPixel(highY + reach, size);
    if (strokeFirstColumn > strokeLastColumn || strokeFirstRow > strokeLastRow) {
      continue;
    }
    for (let row = strokeFirstRow; row <= strokeLastRow; row += 1) {
      nearest.fill(Infinity, row * size + strokeFirstColumn, row * size + strokeLastColumn + 1);
    }
    const segments = count === 1 ? 1 : count - 1;
    for (let segment = 0; segment < segments; segment += 1) {
      const start = 2 * segment;
      const end = count === 1 ? start : start + 2;
      const startX = points[start];
      const startY = points[start + 1];
      const endX = points[end];
      const endY = points[end + 1];
      const deltaX = endX - startX;
      const deltaY = endY - startY;
      const lengthSquared = deltaX * deltaX + deltaY * deltaY;
      const firstColumn = firstPixel(Math.min(startX, endX) - reach);
      const lastColumn = lastPixel(Math.max(startX, endX) + reach, size);
      const firstRow = firstPixel(Math.min(startY, endY) - reach);
      const lastRow = lastPixel(Math.max(startY, endY) + reach, size);
      for (let row = firstRow; row <= lastRow; row += 1) {
        const centreY = row + 0.5;
        for (let column = firstColumn; column <= lastColumn; column += 1) {
          const centreX = column + 0.5;
          // Same operations, in the same order, as preprocessing/strokes.py.
          const projection = (centreX - startX) * deltaX + (centreY - startY) * deltaY;
          let t = lengthSquared > 0 ? projection / lengthSquared : 0;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const awayX = centreX - (startX + t * deltaX);
          const awayY = centreY - (startY + t * deltaY);
          const distance = Math.sqrt(awayX * awayX + awayY * awayY);
          const pixel = row * size + column;
          if (distance < nearest[pixel]) {
            nearest[pixel] = distance;
          }
        }
      }
    }
    for (let row = strokeFirstRow; row <= strokeLastRow; row += 1) {
      for (let column = strokeFirstColumn; column <= strokeLastColumn; column += 1) {
        const pixel = row * size + column;
        const raw = reach - nearest[pixel];
        const coverage = raw < 0 ? 0 : raw > 1 ? 1 : raw;
        image[pixel] = image[pixel] + coverage * (1 - image[pixel]);
      }
    }
  }
  return new Float32Array(image);
}

/** The strokes path on parsed strokes: normalise, simplify, centre, render. */
export function strokesToBitmap(strokes, spec) {
  const { simplifyEpsilon } = specConstants(spec);
  const simplified = normalize(strokes, spec).map((points) => simplify(points, simplifyEpsilon));
  return renderPixelStrokes(toPixelSpace(simplified, spec), spec);
}

/**
 * Validate a drawing `[[xs, ys], ...]` in any coordinate space and return its bitmap: a
 * `Float32Array` of image_size^2 values in [0, 1], row-major, 1 = ink. Throws
 * `DrawingError` (an `Error`) for an empty or malformed drawing. `limits` is optional:
 * `{maxStrokes, maxPoints}`.
 */
export function drawingToBitmap(strokes, spec, limits = {}) {
  specConstants(spec);
  return strokesToBitmap(parseStrokes(strokes, limits), spec);
}
