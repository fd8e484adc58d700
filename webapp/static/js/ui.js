// The only module that touches the page's document: reads its configuration, shows the
// model's status and guesses, and hands user actions to callbacks set by the page modules.

import { listOf, withArticle } from './game.js';

/** Below this top probability the page says it is not sure rather than naming a guess. */
export const CONFIDENT_PROBABILITY = 0.5;

const byId = (id) => document.getElementById(id);
const percent = (probability) => `${Math.round(probability * 100)}%`;

/** URLs and options the server put on <main>, plus `?backend=wasm|webgl|cpu` for benchmarks and tests. */
export function pageConfig() {
  const data = byId('main').dataset;
  const backend = new URLSearchParams(window.location.search).get('backend');
  return {
    metadataUrl: data.metadataUrl,
    modelsUrl: data.modelsUrl,
    vendorUrl: data.vendorUrl,
    drawingsUrl: data.drawingsUrl,
    statsUrl: data.statsUrl,
    // data-models-url (GET /api/models, CONTRACTS §1) is rendered by servers that have it.
    modelsUrl: data.modelsUrl,
    examplesUrl: data.examplesUrl,
    dataset: data,
    backend: backend || null,
    // Only servers configured with TEST_HOOKS (tests, benchmarks) render this attribute.
    testHooks: data.testHooks === 'true',
  };
}

/** The <canvas> people draw on. */
export function canvasElement() {
  return byId('drawing-canvas');
}

// ---- Drawing tools ----

/** Call `callback` when Undo is pressed, or on Ctrl/Cmd+Z outside form fields. */
export function onUndo(callback) {
  byId('undo-button').addEventListener('click', callback);
  document.addEventListener('keydown', (event) => {
    const inField = event.target.closest?.('input, select, textarea');
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === 'z' && !inField) {
      event.preventDefault();
      callback();
    }
  });
}

/** Call `callback` when Clear is pressed. */
export function onClear(callback) {
  byId('clear-button').addEventListener('click', callback);
}

/** Enable the tools that need strokes and show the placeholder only on an empty canvas. */
export function showDrawingState({ isEmpty }) {
  byId('undo-button').disabled = isEmpty;
  byId('clear-button').disabled = isEmpty;
  byId('canvas-placeholder').hidden = !isEmpty;
}

// ---- Model status ----

function setModelStatus(state, text) {
  const status = byId('model-status');
  status.dataset.state = state;
  byId('model-status-text').textContent = text;
  return status;
}

/** Say the model is loading. */
export function showModelLoading() {
  setModelStatus('loading', 'Loading the model…');
}

/** Say the model is ready, and on which backend (kept in data-backend for benchmarks). */
export function showModelReady({ backend, version }) {
  // "WASM" means nothing to most people: the backend stays in the tooltip and data-backend.
  const status = setModelStatus('ready', 'Ready');
  status.dataset.backend = backend;
  status.dataset.version = version;
  status.title = `Model version ${version}, running on the ${backend.toUpperCase()} backend`;
}

/** Say the model cannot be used, and why; the canvas keeps working (the contribute page needs no model). */
export function showModelError(message) {
  setModelStatus('error', 'Model failed to load');
  byId('model-status').title = message;
  const prediction = byId('prediction');
  if (!prediction) return;
  prediction.dataset.state = 'error';
  byId('prediction-kicker').textContent = 'No guesses for now';
  byId('prediction-label').textContent = 'Model unavailable';
  byId('prediction-detail').textContent = `The model failed to load: ${message}. Try reloading the page.`;
  // Without metadata there are no categories to list.
  const list = byId('probabilities');
  if (list && list.children.length === 0) byId('probabilities-heading').hidden = true;
}

// ---- Categories, guesses and probabilities ----

let knownCategories = [];

/** "Try a …, a …, a …, …": a sentence naming a few of the accessories the model knows, from its metadata. */
function suggestions() {
  const named = knownCategories.slice(0, 3).map(withArticle);
  // The ellipsis ends the sentence when there are more; a full stop after it would read "…."
  if (!named.length) return 'Try an accessory.';
  return `Try ${named.join(', ')}${knownCategories.length > 3 ? ', …' : '.'}`;
}

/** Build one probability row per category the model knows. */
export function showCategories(categories) {
  knownCategories = [...categories];
  const known = byId('known-categories');
  if (known) known.textContent = `It knows ${categories.length} accessories: ${listOf(categories, 'and')}.`;
  const list = byId('probabilities');
  if (!list) return;
  list.replaceChildren(
    ...categories.map((label, index) => {
      const row = document.createElement('li');
      row.className = 'probability';
      row.dataset.label = label;
      row.dataset.probability = '0';
      const name = document.createElement('span');
      name.className = 'probability-label';
      name.id = `probability-label-${index}`;
      name.textContent = label;
      const bar = document.createElement('span');
      bar.className = 'probability-bar';
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-labelledby', name.id);
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', '0');
      bar.setAttribute('aria-valuetext', '0%');
      const fill = document.createElement('span');
      fill.className = 'probability-fill';
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'probability-value';
      value.textContent = '0%';
      row.append(name, bar, value);
      return row;
    }),
  );
}

function setProbabilities(ranked) {
  const list = byId('probabilities');
  if (!list) return;
  const byLabel = new Map(ranked.map(({ label, probability }) => [label, probability]));
  const top = ranked[0]?.label;
  for (const row of list.children) {
    const probability = byLabel.get(row.dataset.label) ?? 0;
    row.dataset.probability = String(probability);
    row.classList.toggle('is-top', row.dataset.label === top);
    const bar = row.querySelector('.probability-bar');
    bar.setAttribute('aria-valuenow', String(Math.round(probability * 100)));
    bar.setAttribute('aria-valuetext', percent(probability));
    // A custom property set through the CSSOM: allowed by a CSP without 'unsafe-inline'.
    bar.style.setProperty('--probability', String(probability));
    row.querySelector('.probability-value').textContent = percent(probability);
  }
}

function guessSentence(top, decision) {
  if (decision?.state === 'other') return 'That doesn’t look like any accessory I know.';
  if (decision?.state === 'too-small') return 'Keep drawing…';
  return top.probability >= CONFIDENT_PROBABILITY && decision?.state !== 'unsure'
    ? `It’s ${withArticle(top.label)}, ${percent(top.probability)} sure.`
    : `Not sure — maybe ${withArticle(top.label)}?`;
}

/**
 * Show the ranked guesses for the drawing at `revision`, as `decision` (decide() in model.js)
 * says: named, unsure, "none of these" (state "other") or too small to judge. Without a
 * decision, the top probability against CONFIDENT_PROBABILITY decides.
 */
export function showGuess(ranked, revision, decision = null) {
  const [top] = ranked;
  const state = decision?.state ?? (top.probability >= CONFIDENT_PROBABILITY ? 'named' : 'unsure');
  const prediction = byId('prediction');
  // A named guess keeps data-state="confident", which tests and benchmarks have always read.
  prediction.dataset.state = state === 'named' ? 'confident' : state;
  prediction.dataset.label = state === 'other' || state === 'too-small' ? '' : top.label;
  prediction.dataset.probability = String(top.probability);
  prediction.dataset.revision = String(revision);
  if (state === 'other') {
    byId('prediction-kicker').textContent = 'None of these';
    byId('prediction-label').textContent = 'That doesn’t look like any accessory I know';
    byId('prediction-detail').textContent = suggestions();
  } else if (state === 'too-small') {
    byId('prediction-kicker').textContent = 'Too small to judge';
    byId('prediction-label').textContent = 'Keep drawing…';
    byId('prediction-detail').textContent = 'A guess appears once there is a bit more to see.';
  } else if (state === 'named') {
    byId('prediction-kicker').textContent = 'I think it’s';
    byId('prediction-label').textContent = withArticle(top.label);
    byId('prediction-detail').textContent = `${percent(top.probability)} sure`;
  } else {
    byId('prediction-kicker').textContent = 'Keep drawing';
    byId('prediction-label').textContent = `Not sure — maybe ${top.label}?`;
    byId('prediction-detail').textContent = `Only ${percent(top.probability)} sure so far`;
  }
  const wrong = byId('wrong-guess');
  if (wrong) wrong.hidden = false;
  setProbabilities(ranked);
}

/** Say the drawing could not be recognised, keeping the last guess's bars. */
export function showPredictionError(message) {
  byId('prediction').dataset.state = 'error';
  byId('prediction-kicker').textContent = 'Something went wrong';
  byId('prediction-label').textContent = 'No guess';
  byId('prediction-detail').textContent = `The drawing could not be recognised: ${message}`;
}

/** Back to the prompt shown on an empty canvas. */
export function showEmptyGuess() {
  const prediction = byId('prediction');
  prediction.dataset.state = 'empty';
  delete prediction.dataset.label;
  delete prediction.dataset.probability;
  delete prediction.dataset.revision;
  const compact = prediction.classList.contains('prediction-compact');
  byId('prediction-kicker').textContent = 'Waiting for a drawing';
  byId('prediction-label').textContent = compact ? '—' : 'Start drawing';
  byId('prediction-detail').textContent = compact
    ? 'A live guess, to check your drawing reads well.'
    : "The model's guess appears here as soon as you start.";
  setProbabilities([]);
  const wrong = byId('wrong-guess');
  if (wrong) wrong.hidden = true;
  const announcer = byId('guess-announcer');
  if (announcer) announcer.textContent = '';
}

/** Tell screen readers the current guess; called once a stroke ends, not on every move. */
export function announceGuess(ranked, decision = null) {
  const announcer = byId('guess-announcer');
  if (announcer && ranked.length) announcer.textContent = guessSentence(ranked[0], decision);
}

/** Call `callback` when "Wrong? Tell us what it was" is followed (before the page changes). */
export function onWrongGuess(callback) {
  byId('wrong-guess')?.addEventListener('click', callback);
}

/** Offer a choice of models when the server has more than one set; `callback(name)` on change. */
export function showModelChoice(sets, chosen, callback) {
  const select = byId('model-select');
  if (!select) return;
  select.replaceChildren(...sets.map((set) => new Option(set.title || set.name, set.name, false, set.name === chosen)));
  byId('model-choice').hidden = sets.length < 2;
  select.onchange = () => callback(select.value);
}

// ---- Contribute form ----

/** Fill the category <select> and enable it; `other` (or null) adds "Something else…" last. */
export function populateLabelSelect(categories, other = null) {
  const select = byId('label-select');
  const placeholder = new Option('Choose a category…', '');
  const choices = categories.map((label) => new Option(label, label));
  if (other !== null) choices.push(new Option('Something else…', other));
  select.replaceChildren(placeholder, ...choices);
  select.disabled = false;
}

/** Show the "What is it?" field (for "Something else…") or hide it. */
export function showNameField(shown) {
  byId('name-field').hidden = !shown;
}

/** The name typed for "Something else…", trimmed ('' when none). */
export function enteredName() {
  return byId('name-input').value.trim();
}

/** Leave the <select> disabled with a message when there are no categories to offer. */
export function showCategoriesUnavailable() {
  byId('label-select').replaceChildren(new Option('Categories unavailable', ''));
}

/** The chosen category, or '' when none is chosen. */
export function selectedLabel() {
  return byId('label-select').value;
}

/** Call `callback(label)` when another category is chosen. */
export function onLabelChange(callback) {
  byId('label-select').addEventListener('change', (event) => callback(event.target.value));
}

/** Choose a category in the <select>, if it offers it. */
export function selectLabel(label) {
  const select = byId('label-select');
  if ([...select.options].some((option) => option.value === label)) select.value = label;
}

/** The submit status's current text and state. */
export function submitStatus() {
  const status = byId('submit-status');
  return { state: status.dataset.state, text: status.textContent };
}

/** Warn (without blocking) that the chosen label and the live guess disagree; '' hides the warning. */
export function showLabelWarning(message) {
  const warning = byId('label-warning');
  if (!warning) return;
  warning.textContent = message;
  warning.hidden = !message;
}

/** Move keyboard focus to the category <select>. */
export function focusLabelSelect() {
  byId('label-select').focus();
}

/** Call `callback` when the form is submitted (button, or Enter in the form). */
export function onSubmit(callback) {
  byId('contribute-form').addEventListener('submit', (event) => {
    event.preventDefault();
    callback();
  });
}

/** Disable the submit button while a drawing is being sent. */
export function setSubmitting(submitting) {
  const button = byId('submit-button');
  button.disabled = submitting;
  button.setAttribute('aria-busy', String(submitting));
}

/** Show the outcome of a submission: state is 'success', 'error' or 'pending'. */
export function showSubmitStatus(state, message) {
  const status = byId('submit-status');
  status.dataset.state = state;
  status.textContent = message;
}

/** Show how many drawings the server stores per category, in the model's category order. */
export function showStats(counts, categories) {
  const names = [...new Set([...categories, ...Object.keys(counts)])];
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  byId('stats-total').textContent = total === 1 ? '1 drawing so far' : `${total} drawings so far`;
  byId('stats').replaceChildren(
    ...names.map((label) => {
      const item = document.createElement('li');
      item.className = 'stats-item';
      item.dataset.label = label;
      item.dataset.count = String(counts[label] ?? 0);
      const name = document.createElement('span');
      name.textContent = label;
      const count = document.createElement('span');
      count.className = 'stats-count';
      count.textContent = String(counts[label] ?? 0);
      item.append(name, count);
      return item;
    }),
  );
}

/** Say the counts could not be fetched. */
export function showStatsError(message) {
  byId('stats-total').textContent = `Counts unavailable: ${message}`;
}
