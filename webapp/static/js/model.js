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
