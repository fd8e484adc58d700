// What both pages share: the drawing canvas, the model, and live guesses while drawing.

import { DrawingCanvas } from './canvas.js';
import { createLivePredictor } from './live.js';
import { decideGuess } from './decision.js';
import { loadClassifier, loadMetadata } from './model.js';
import {
  fetchModelSets,
  metadataUrlFor,
  modelBaseUrl,
  pollSeconds,
  rememberSet,
  rememberedSet,
  watchModel,
} from './model-source.js';
import * as ui from './ui.js';

/** sessionStorage key of a drawing carried from the draw page to the contribute page. */
export const KEPT_DRAWING_KEY = 'fashion-doodles.kept-drawing';

/**
 * Which model to load: the remembered set when the server still has it, else the page's
 * default (loaded without waiting for the list of sets). Shows the chooser when there are
 * several sets; `onChange()` runs after a new choice is remembered. Returns
 * `{metadataUrl}`, a promise of `{url, set}`.
 */
export function chooseModel(config, onChange) {
  const remembered = rememberedSet();
  const sets = fetchModelSets(config.modelsUrl);
  sets.then((found) => {
    if (!found || found.sets.length < 2) return;
    const chosen = found.sets.some((set) => set.name === remembered) ? remembered : found.default;
    ui.showModelChoice(found.sets, chosen, (name) => {
      rememberSet(name);
      onChange(name);
    });
  });
  const metadataUrl = remembered
    ? sets.then((found) =>
        found?.sets.some((set) => set.name === remembered)
          ? { url: metadataUrlFor(config, remembered), set: remembered }
          : { url: config.metadataUrl, set: null },
      )
    : Promise.resolve({ url: config.metadataUrl, set: null });
  return { metadataUrl };
}

/**
 * Wire the canvas, its tools and live prediction, and start loading the model.
 * Returns `{config, canvas, metadata, classifier, latest}`: the first two of the promises
 * resolve even when only the metadata loads; `latest()` is `{ranked, decision}` of the last guess.
 */
export function setUpDrawingPage() {
  const config = ui.pageConfig();
  const canvas = new DrawingCanvas(ui.canvasElement());
  let classifier = null;
  let currentMetadata = null;
  let modelFailed = false;
  let latest = { ranked: [], decision: null, revision: -1 };
  let pendingMetadata = null;
  let watcher = null;
  const guessListeners = [];

  const live = createLivePredictor({
    getDrawing: () => ({ strokes: canvas.strokes, revision: canvas.revision }),
    predict: (strokes) => classifier.predict(strokes),
    onResult: (ranked, revision) => {
      const decision = decideGuess(ranked, canvas.strokes, currentMetadata);
      latest = { ranked, decision, revision };
      ui.showGuess(ranked, revision, decision);
      // Screen readers hear the guess once per stroke, not on every pointer move.
      if (!canvas.isDrawing) ui.announceGuess(ranked, decision);
      for (const listener of guessListeners) listener(latest);
    },
    onEmpty: () => {
      latest = { ranked: [], decision: null, revision: -1 };
      ui.showEmptyGuess();
      for (const listener of guessListeners) listener(latest);
    },
    onError: (error) => {
      console.error('Prediction failed', error);
      ui.showPredictionError(error.message);
    },
  });

  canvas.addEventListener('change', () => {
    ui.showDrawingState({ isEmpty: canvas.isEmpty });
    // After a failed load the reason stays on screen; there will be no guess to make room for.
    if (canvas.isEmpty && !modelFailed) ui.showEmptyGuess();
    if (classifier) live.schedule();
    // A newer model waits for an empty canvas: never switch in the middle of a drawing.
    if (canvas.isEmpty) applyPendingModel();
  });
  ui.onUndo(() => canvas.undo());
  ui.onClear(() => canvas.clear());
  ui.onWrongGuess(() => {
    // The contribute page picks the drawing up from here and asks what it was.
    try {
      window.sessionStorage.setItem(KEPT_DRAWING_KEY, JSON.stringify({ strokes: canvas.strokes, side: canvas.side }));
    } catch {
      // Without storage the contribute page simply opens empty.
    }
  });
  ui.showDrawingState({ isEmpty: canvas.isEmpty });
  ui.showModelLoading();

  function useClassifier(loadedMetadata, loaded) {
    currentMetadata = loadedMetadata;
    classifier = loaded;
    ui.showCategories(loadedMetadata.categories);
    ui.showModelReady(loaded);
    // A hook for tests and benchmarks: the same predict() the page uses, on any strokes.
    // Production pages leave it out; the server renders the switch only under TEST_HOOKS.
    if (!config.testHooks) return;
    window.__doodles = {
      predictStrokes: (strokes) => loaded.predict(strokes),
      predictBitmap: (bitmap) => loaded.predictBitmap(bitmap),
      getStrokes: () => canvas.strokes,
      backend: loaded.backend,
      version: loaded.version,
    };
  }

  let readyModel = null; // A newer model already loaded, waiting for an empty canvas.
  async function applyPendingModel() {
    const busy = !canvas.isEmpty || canvas.isDrawing;
    if (readyModel && !busy) {
      useClassifier(readyModel.metadata, readyModel.loaded);
      watcher?.setVersion(readyModel.metadata.version);
      readyModel = null;
    }
    if (!pendingMetadata || busy) return;
    const newer = pendingMetadata;
    pendingMetadata = null;
    try {
      const loaded = await loadClassifier({
        metadata: newer,
        metadataUrl: modelBaseUrl(newer, config.metadataUrl),
        vendorUrl: config.vendorUrl,
        backend: config.backend,
      });
      // Someone may have started drawing while it loaded: then it waits for the next empty canvas.
      readyModel = { metadata: newer, loaded };
      applyPendingModel();
    } catch (error) {
      console.error('The new model version failed to load; keeping the current one', error);
    }
  }

  function watch(url, version) {
    watcher?.stop();
    watcher = watchModel({
      url,
      version,
      seconds: pollSeconds(config.dataset),
      onNewVersion: (newer) => {
        pendingMetadata = newer;
        applyPendingModel();
      },
    });
  }

  const { metadataUrl } = chooseModel(config, () => window.location.reload());
  const metadata = metadataUrl.then(({ url }) => loadMetadata(url));
  const classifierReady = Promise.all([metadataUrl, metadata])
    .then(([{ url }, loadedMetadata]) => {
      currentMetadata = loadedMetadata;
      ui.showCategories(loadedMetadata.categories);
      return loadClassifier({
        metadata: loadedMetadata,
        metadataUrl: modelBaseUrl(loadedMetadata, url),
        vendorUrl: config.vendorUrl,
        backend: config.backend,
      }).then((loaded) => ({ loaded, loadedMetadata }));
    })
    .then(async ({ loaded, loadedMetadata }) => {
      useClassifier(loadedMetadata, loaded);
      // Benchmarks read the time from navigation to a usable model from this mark.
      performance.mark('model-ready');
      // Someone may have drawn while the model loaded.
      if (!canvas.isEmpty) live.schedule();
      const { set } = await metadataUrl;
      watch(metadataUrlFor(config, set), loaded.version);
      return loaded;
    });
  classifierReady.catch((error) => {
    modelFailed = true;
    console.error('The model failed to load', error);
    ui.showModelError(error.message);
  });

  return {
    config,
    canvas,
    metadata,
    classifier: classifierReady,
    latest: () => latest,
    currentMetadata: () => currentMetadata,
    onGuess: (listener) => guessListeners.push(listener),
  };
}
