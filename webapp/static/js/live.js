// Live prediction scheduling: as fresh as possible, never more than one per frame, never queued.
//
// Pointer moves arrive far more often than a screen repaints, and a prediction may take
// longer than a frame on a slow backend. So a request only marks the drawing as changed; at
// the next animation frame one prediction runs on the strokes as they are then. Requests
// made while it runs collapse into a single rerun with the latest strokes once it finishes.

/**
 * Create a scheduler. `getDrawing()` returns `{strokes, revision}` as they are now;
 * `predict(strokes)` resolves to the ranked guesses; `onResult(ranked, revision)`,
 * `onEmpty()` and `onError(error)` report the outcome. Returns `{schedule}`.
 */
export function createLivePredictor({
  getDrawing,
  predict,
  onResult,
  onEmpty,
  onError,
  requestFrame = (callback) => window.requestAnimationFrame(callback),
}) {
  let frameRequested = false;
  let running = false;
  let changedWhileRunning = false;

  async function runOnce() {
    frameRequested = false;
    if (running) {
      changedWhileRunning = true;
      return;
    }
    const { strokes, revision } = getDrawing();
    if (strokes.length === 0) {
      onEmpty();
      return;
    }
    running = true;
    try {
      const ranked = await predict(strokes);
      // A drawing cleared while the model ran must not come back as a guess.
      if (getDrawing().strokes.length > 0) onResult(ranked, revision);
    } catch (error) {
      onError(error);
    } finally {
      running = false;
      if (changedWhileRunning) {
        changedWhileRunning = false;
        schedule();
      }
    }
  }

  /** Ask for a prediction of the current drawing at the next animation frame. */
  function schedule() {
    if (frameRequested) return;
    frameRequested = true;
    requestFrame(runOnce);
  }

  return { schedule };
}
