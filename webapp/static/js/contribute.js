// The contribute page: choose a category, draw it, and store it on the server.

import { setUpDrawingPage } from './drawing-page.js';
import * as ui from './ui.js';

const page = setUpDrawingPage();
let categories = [];

page.metadata
  .then((metadata) => {
    categories = metadata.categories;
    ui.populateLabelSelect(categories);
  })
  .catch(() => ui.showCategoriesUnavailable())
  .finally(refreshStats);

ui.onSubmit(submitDrawing);

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
    ui.showSubmitStatus('error', 'Choose what you drew first.');
    ui.focusLabelSelect();
    return;
  }
  if (page.canvas.isEmpty) {
    ui.showSubmitStatus('error', 'The canvas is empty: draw something before sending it.');
    return;
  }
  const sentRevision = page.canvas.revision;
  ui.setSubmitting(true);
  ui.showSubmitStatus('pending', 'Sending your drawing…');
  try {
    const response = await fetch(page.config.drawingsUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ label, strokes: page.canvas.strokes }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 201 && body.id !== undefined) {
      ui.showSubmitStatus('success', `Saved your ${label} drawing #${body.id} — thank you!`);
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
