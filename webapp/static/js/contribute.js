// The contribute page: choose a category, draw it, and store it on the server.

import { decisionBlock, drawingExtent, otherLabel } from './decision.js';
import { KEPT_DRAWING_KEY, setUpDrawingPage } from './drawing-page.js';
import { withArticle } from './game.js';
import * as ui from './ui.js';

const CHOOSE_FIRST = 'Choose what you drew first.';

const page = setUpDrawingPage();
let categories = [];
let other = null; // The label of "Something else…", when the model has "none of these".

page.metadata
  .then((metadata) => {
    categories = metadata.categories;
    other = otherLabel(metadata);
    ui.populateLabelSelect(categories, other);
    restoreKeptDrawing();
  })
  .catch(() => ui.showCategoriesUnavailable())
  .finally(refreshStats);

ui.onSubmit(submitDrawing);
ui.onLabelChange((label) => {
  // The request to choose is answered: it must not stay on screen.
  if (ui.submitStatus().text === CHOOSE_FIRST) ui.showSubmitStatus('idle', '');
  ui.showNameField(other !== null && label === other);
  checkLabelAgainstGuess();
});
page.onGuess(checkLabelAgainstGuess);

/** A drawing sent here by the draw page's "Wrong? Tell us what it was": keep it, ask for its label. */
function restoreKeptDrawing() {
  let kept = null;
  try {
    kept = JSON.parse(window.sessionStorage.getItem(KEPT_DRAWING_KEY) ?? 'null');
    window.sessionStorage.removeItem(KEPT_DRAWING_KEY);
  } catch {
    kept = null;
  }
  if (!kept || !Array.isArray(kept.strokes) || kept.strokes.length === 0) return;
  page.canvas.load(kept.strokes, kept.side);
  const orElse = other === null ? '' : ' (or Something else…, at the end of the list)';
  ui.showSubmitStatus('idle', `Here is your drawing: choose what it really was${orElse}, then send it.`);
  ui.focusLabelSelect();
}

/** Warn, without blocking, when the chosen label and the model's live guess disagree. */
function checkLabelAgainstGuess() {
  const label = ui.selectedLabel();
  const { decision } = page.latest();
  // "Something else" is what the model has no name for: nothing to compare.
  if (!label || label === other || !decision || page.canvas.isEmpty || decision.state === 'too-small') {
    ui.showLabelWarning('');
    return;
  }
  if (decision.state === 'other') {
    ui.showLabelWarning(`The model doesn’t see ${withArticle(label)} in this drawing yet. You can still send it.`);
  } else if (decision.label !== label) {
    ui.showLabelWarning(`The model sees ${withArticle(decision.label)}, not ${withArticle(label)}. Sure? You can still send it.`);
  } else {
    ui.showLabelWarning('');
  }
}

/** Fetch and show how many drawings the server stores per category. */
async function refreshStats() {
  try {
    const response = await fetch(page.config.statsUrl);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    ui.showStats(body.by_label ?? {}, categories);
  } catch (error) {
    ui.showStatsError(error.message);
  }
}

/** Send the drawing with its label; refuse an empty canvas before bothering the server. */
async function submitDrawing() {
  const label = ui.selectedLabel();
  if (!label) {
    ui.showSubmitStatus('error', CHOOSE_FIRST);
    ui.focusLabelSelect();
    return;
  }
  if (page.canvas.isEmpty) {
    ui.showSubmitStatus('error', 'The canvas is empty: draw something before sending it.');
    return;
  }
  const metadata = page.currentMetadata();
  const { extent, points } = drawingExtent(page.canvas.strokes);
  if (metadata && (extent < decisionBlock(metadata).min_extent || points < 2)) {
    // The server refuses marks too small to judge (CONTRACTS §3); say so before sending.
    ui.showSubmitStatus('error', 'Keep drawing… this mark is too small to send.');
    return;
  }
  const name = label === other ? ui.enteredName() : '';
  const sentRevision = page.canvas.revision;
  ui.setSubmitting(true);
  ui.showSubmitStatus('pending', 'Sending your drawing…');
  try {
    const response = await fetch(page.config.drawingsUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ label, strokes: page.canvas.strokes, ...(name ? { name } : {}) }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 201 && body.id !== undefined) {
      const what = label !== other ? label : name || 'something else';
      ui.showSubmitStatus('success', `Saved your ${what} drawing #${body.id} — thank you!`);
      // Keep anything drawn while the request was in flight.
      if (page.canvas.revision === sentRevision) page.canvas.clear();
      refreshStats();
    } else {
      const reason = body.error || `the server answered HTTP ${response.status}`;
      ui.showSubmitStatus('error', `Not saved: ${reason}`);
    }
  } catch {
    ui.showSubmitStatus('error', 'Not saved: the server could not be reached. Check your connection and try again.');
  } finally {
    ui.setSubmitting(false);
  }
}
