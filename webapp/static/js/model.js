// The classifier: reads the exported model's metadata, picks a TF.js backend, loads the
// graph model once, warms it up, and turns strokes into ranked guesses.
//
// Everything the browser knows about the model (its categories, its input shape, the
// preprocessing it was trained with) comes from metadata.json, written by the exporter.

import { checkSpec, drawingToBitmap } from './preprocess.js';

/** Backends in order of preference: WASM runs a small CNN fastest without a GPU. */
export const BACKENDS = ['wasm', 'webgl', 'cpu'];
const MODEL_FORMAT = 'tfjs-graph-model';

/** Fetch metadata.json and check its format and categories; throws an Error saying what is wrong. */
export async function loadMetadata(metadataUrl) {
  const response = await fetch(metadataUrl);
  if (!response.ok) throw new Error(`could not fetch the model metadata (HTTP ${response.status})`);
  const metadata = await response.json();
  checkMetadata(metadata);
  return metadata;
}

function checkMetadata(metadata) {
  if (metadata.format !== MODEL_FORMAT) {
    throw new Error(`the model format is ${JSON.stringify(metadata.format)}, expected "${MODEL_FORMAT}"`);
  }
  const categories = metadata.categories;
  if (!Array.isArray(categories) || categories.length < 2 || !categories.every((name) => typeof name === 'string')) {
    throw new Error('the model metadata has no list of categories');
  }
}

/** Check the model expects the bitmaps preprocess.js makes; returns the input shape with a batch of 1. */
function checkInput(metadata) {
  // A model trained with another preprocessing version would see drawings rendered unlike
  // its training data and guess badly: preprocess.js refuses any spec but its own.
  const { imageSize } = checkSpec(metadata.preprocessing);
  const shape = metadata.input_shape;
  if (!Array.isArray(shape) || shape.length !== 3 || shape[0] * shape[1] * shape[2] !== imageSize ** 2) {
    throw new Error('the model metadata has an input shape that does not match its preprocessing');
  }
  return [1, ...shape];
}

/**
 * Switch TF.js to the first backend that initialises, trying `preferred` first.
 * Returns the name of the backend in use.
 */
export async function chooseBackend(tf, vendorUrl, preferred = null) {
  // An unknown name (a mistyped ?backend=) falls back to the usual order rather than failing.
  const order = BACKENDS.includes(preferred) ? [preferred, ...BACKENDS.filter((name) => name !== preferred)] : BACKENDS;
  for (const name of order) {
    if (name === 'wasm') {
      if (!tf.wasm) continue;
      // The .wasm binaries come from our own static folder, never from a CDN.
      tf.wasm.setWasmPaths(new URL(vendorUrl, window.location.href).href);
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch (error) {
      console.warn(`TF.js backend ${name} failed to start, trying the next one`, error);
    }
  }
  throw new Error('no TF.js backend could start in this browser');
}

/** Pair each probability with its category name, most likely first. */
export function rankCategories(probabilities, categories) {
  return categories
    .map((label, index) => ({ label, probability: probabilities[index] }))
    .sort((first, second) => second.probability - first.probability);
}

/**
 * Load the model described by `metadata` (from loadMetadata) on the best backend.
 * Resolves to `{backend, categories, version, predict(strokes)}`.
 */
export async function loadClassifier({ metadata, metadataUrl, vendorUrl, backend = null }) {
  const inputShape = checkInput(metadata);
  const tf = window.tf;
  if (!tf) throw new Error('TensorFlow.js did not load');
  const backendInUse = await chooseBackend(tf, vendorUrl, backend);
  const modelUrl = new URL(metadata.model_url || 'model.json', new URL(metadataUrl, window.location.href));
  const model = await tf.loadGraphModel(modelUrl.href);
  const spec = metadata.preprocessing;
  const categories = metadata.categories;

  // Warm up once: the first run compiles kernels and allocates, the slow part.
  const warmUp = tf.tidy(() => model.predict(tf.zeros(inputShape)));
  const outputs = warmUp.size;
  await warmUp.data();
  warmUp.dispose();
  if (outputs !== categories.length) {
    model.dispose();
    throw new Error(`the model has ${outputs} outputs but its metadata lists ${categories.length} categories`);
  }

  /** The model's probabilities for one preprocessed bitmap, in the metadata's category order. */
  async function predictBitmap(bitmap) {
    const output = tf.tidy(() => model.predict(tf.tensor(bitmap, inputShape, 'float32')));
    try {
      return await output.data();
    } finally {
      output.dispose();
    }
  }

  /** Rank the categories for a drawing in Quick Draw's stroke format. */
  async function predict(strokes) {
    return rankCategories(await predictBitmap(drawingToBitmap(strokes, spec)), categories);
  }

  return { backend: backendInUse, categories, version: metadata.version, predict, predictBitmap };
}

// ---- The decision rule (CONTRACTS §3; Python twin: preprocessing/decision.py) ----

/**
 * The rule a model without a "decision" block in its metadata gets: nothing is rejected,
 * and below 0.5 the page says it is not sure, as the pages always did.
 */
export const DEFAULT_DECISION = Object.freeze({ other_label: null, reject_below: 0, unsure_below: 0.5, min_extent: 0 });

/** The model's output units in order: `outputs` when the metadata has them, else its categories. */
export function modelOutputs(metadata) {
  return Array.isArray(metadata.outputs) ? metadata.outputs : metadata.categories;
}

/** The metadata's decision block with the defaults filled in. */
export function decisionRule(metadata) {
  return { ...DEFAULT_DECISION, ...(metadata.decision ?? {}) };
}

/** Longest side of the strokes' bounding box and the number of points, in the strokes' own coordinates. */
export function drawingExtent(strokes) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let points = 0;
  for (const [xs, ys] of strokes) {
    for (let index = 0; index < xs.length; index += 1) {
      minX = Math.min(minX, xs[index]);
      maxX = Math.max(maxX, xs[index]);
      minY = Math.min(minY, ys[index]);
      maxY = Math.max(maxY, ys[index]);
      points += 1;
    }
  }
  return { extent: points ? Math.max(maxX - minX, maxY - minY) : 0, points };
}

/**
 * Decide what the page says about a drawing (CONTRACTS §3).
 *
 * `probabilities` is over the model's outputs, as an array in `modelOutputs(metadata)` order
 * or an object keyed by output name; `extent` is the drawing's longest side and `points` its
 * number of points (Infinity when unknown). Returns `{state, label, probability}` where state
 * is 'too-small' | 'other' | 'unsure' | 'named', label is null for the first two, and
 * probability is the best accessory's.
 */
export function decide(probabilities, metadata, extent, points = Infinity) {
  const rule = decisionRule(metadata);
  const outputs = modelOutputs(metadata);
  const valueOf = Array.isArray(probabilities) || ArrayBuffer.isView(probabilities)
    ? (index) => Number(probabilities[index] ?? 0)
    : (index) => Number(probabilities[outputs[index]] ?? 0);
  let top = 0;
  let bestAccessory = -1;
  for (let index = 0; index < outputs.length; index += 1) {
    if (valueOf(index) > valueOf(top)) top = index;
    if (outputs[index] !== rule.other_label && (bestAccessory < 0 || valueOf(index) > valueOf(bestAccessory))) {
      bestAccessory = index;
    }
  }
  const probability = bestAccessory < 0 ? 0 : valueOf(bestAccessory);
  if (extent < rule.min_extent || points < 2) return { state: 'too-small', label: null, probability };
  if (outputs[top] === rule.other_label || probability < rule.reject_below) {
    return { state: 'other', label: null, probability };
  }
  if (probability < rule.unsure_below) return { state: 'unsure', label: outputs[top], probability };
  return { state: 'named', label: outputs[top], probability };
}
