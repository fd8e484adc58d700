"""Live prediction scheduling (static/js/live.js), driven with a fake model and fake frames:
at most one prediction per animation frame, never queued, and a rerun with the latest strokes."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# Runs in the page: frames and predictions are controlled by hand, so the order is exact.
SCENARIO = """
async () => {
  const { createLivePredictor } = await import('/static/js/live.js');
  const frames = [];
  const pending = [];
  const predicted = [];
  const shown = [];
  let drawing = { strokes: [[[1], [1]]], revision: 1 };
  const live = createLivePredictor({
    getDrawing: () => drawing,
    predict: (strokes) => {
      predicted.push(drawing.revision);
      return new Promise((resolve) => pending.push(() => resolve([{ label: 'x', probability: 1 }])));
    },
    onResult: (ranked, revision) => shown.push(revision),
    onEmpty: () => shown.push('empty'),
    onError: (error) => shown.push(`error: ${error}`),
    requestFrame: (callback) => frames.push(callback),
  });
  const runFrames = async () => {
    for (const callback of frames.splice(0)) callback();
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  const settle = async () => {
    pending.shift()();
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  const log = [];

  // Many pointer moves before a frame: one frame request, one prediction.
  live.schedule(); live.schedule(); live.schedule();
  log.push({ step: 'burst', frames: frames.length });
  await runFrames();
  log.push({ step: 'first frame', predicted: [...predicted] });

  // The drawing changes twice while the model runs: nothing is queued behind it...
  drawing = { strokes: [[[1, 2], [1, 2]]], revision: 2 };
  live.schedule(); await runFrames();
  drawing = { strokes: [[[1, 2, 3], [1, 2, 3]]], revision: 3 };
  live.schedule(); await runFrames();
  log.push({ step: 'while running', predicted: [...predicted] });

  // ...and once it finishes, exactly one rerun with the latest drawing, at the next frame.
  await settle();
  log.push({ step: 'first result', shown: [...shown], frames: frames.length });
  await runFrames();
  await settle();
  await runFrames();
  log.push({ step: 'rerun', predicted: [...predicted], shown: [...shown], frames: frames.length });

  // A drawing cleared while the model runs never comes back as a guess.
  live.schedule(); await runFrames();
  drawing = { strokes: [], revision: 4 };
  live.schedule(); await runFrames();
  await settle(); await runFrames();
  log.push({ step: 'cleared', shown: [...shown] });
  return log;
}
"""


def test_live_predictions_are_never_queued(page):
    """One prediction per frame at most; changes during a prediction collapse into one rerun."""
    page.goto("/")
    log = page.evaluate(SCENARIO)
    assert log == [
        {"step": "burst", "frames": 1},
        {"step": "first frame", "predicted": [1]},
        {"step": "while running", "predicted": [1]},
        {"step": "first result", "shown": [1], "frames": 1},
        {"step": "rerun", "predicted": [1, 3], "shown": [1, 3], "frames": 0},
        {"step": "cleared", "shown": [1, 3, "empty"]},
    ]
