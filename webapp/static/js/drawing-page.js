// What both pages share: the drawing canvas, the model, and live guesses while drawing.

import { DrawingCanvas } from './canvas.js';
import { createLivePredictor } from './live.js';
import { loadClassifier, loadMetadata } from './model.js';
import * as ui from './ui.js';

/**
 * Wire the canvas, its tools and live prediction, and start loading the model.
 * Returns `{config, canvas, metadata, classifier}`: the last two are promises, so a page
 * can use the categories even when the model itself fails to load.
 */
export function setUpDrawingPage() {
  const config = ui.pageConfig();
  const canvas = new DrawingCanvas(ui.canvasElement());
  let classifier = null;
  let modelFailed = false;

  const live = createLivePredictor({
    getDrawing: () => ({ strokes: canvas.strokes, revision: canvas.revision }),
    predict: (strokes) => classifier.predict(strokes),
    onResult: (ranked, revision) => {
      ui.showGuess(ranked, revision);
      // Screen readers hear the guess once per stroke, not on every pointer move.
      if (!canvas.isDrawing) ui.announceGuess(ranked);
    },
    onEmpty: () => ui.showEmptyGuess(),
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
  });
  ui.onUndo(() => canvas.undo());
  ui.onClear(() => canvas.clear());
  ui.showDrawingState({ isEmpty: canvas.isEmpty });
  ui.showModelLoading();

  const metadata = loadMetadata(config.metadataUrl);
  const classifierReady = metadata
    .then((loaded) => {
      ui.showCategories(loaded.categories);
      return loadClassifier({ metadata: loaded, metadataUrl: config.metadataUrl, vendorUrl: config.vendorUrl, backend: config.backend });
    })
    .then((loaded) => {
      classifier = loaded;
      ui.showModelReady(loaded);
      // Benchmarks read the time from navigation to a usable model from this mark.
      performance.mark('model-ready');
      // A hook for tests and benchmarks: the same predict() the page uses, on any strokes.
      // Production pages leave it out; the server renders the switch only under TEST_HOOKS.
      if (config.testHooks) {
        window.__doodles = {
          predictStrokes: (strokes) => loaded.predict(strokes),
          predictBitmap: (bitmap) => loaded.predictBitmap(bitmap),
          getStrokes: () => canvas.strokes,
          backend: loaded.backend,
          version: loaded.version,
        };
      }
      // Someone may have drawn while the model loaded.
      if (!canvas.isEmpty) live.schedule();
      return loaded;
    });
  classifierReady.catch((error) => {
    modelFailed = true;
    console.error('The model failed to load', error);
    ui.showModelError(error.message);
  });

  return { config, canvas, metadata, classifier: classifierReady };
}
