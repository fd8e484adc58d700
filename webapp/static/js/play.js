// The /play game: wiring the canvas, the model and the game's rules (game.js) to the page
// (play-ui.js). Rounds, the win rule and the sentences are documented in game.js.

import { DrawingCanvas } from './canvas.js';
import {
  ROUND_SECONDS,
  createRoundJudge,
  gamePrompts,
  guessSentence,
  topGuesses,
  withArticle,
} from './game.js';
import { createLivePredictor } from './live.js';
import { decideGuess, decisionBlock } from './decision.js';
import { loadClassifier, loadMetadata } from './model.js';
import { chooseModel } from './drawing-page.js';
import { metadataUrlFor, modelBaseUrl, pollSeconds, watchModel } from './model-source.js';
import * as play from './play-ui.js';
import * as ui from './ui.js';

const SPEECH_KEY = 'fashion-doodles.speech';
// Spoken guesses change less often than written ones, or the voice would never finish.
const SPEECH_GAP_MS = 1500;

const config = ui.pageConfig();
const query = new URLSearchParams(window.location.search);
// ?seconds= shortens rounds for tests and demos; anything else gets Quick Draw's 20 seconds.
const roundSeconds = Number(query.get('seconds')) > 0 ? Number(query.get('seconds')) : ROUND_SECONDS;
const canvas = new DrawingCanvas(ui.canvasElement());
canvas.element.tabIndex = -1; // Focusable from script, so each round's focus lands on it.

let metadata = null;
let classifier = null;
let pendingMetadata = null; // A newer model version, applied between rounds.
let game = null; // {id, prompts, records, donatedIds}
let round = null; // {index, label, judge, deadline, timer, ranked, decision, over}
let speechEnabled = readSpeechSetting();
let lastSpoken = { text: '', at: 0 };

// ---- Model ----

const live = createLivePredictor({
  getDrawing: () => ({ strokes: canvas.strokes, revision: canvas.revision }),
  predict: (strokes) => classifier.predict(strokes),
  onResult: (ranked, revision) => onPrediction(ranked, revision),
  onEmpty: () => {
    if (round && !round.over) play.showGuessSentence('Draw, and I’ll guess…', '');
  },
  onError: (error) => console.error('Prediction failed', error),
});

async function loadModel(metadataUrl) {
  const loaded = await loadMetadata(metadataUrl);
  const model = await loadClassifier({
    metadata: loaded,
    metadataUrl: modelBaseUrl(loaded, metadataUrl),
    vendorUrl: config.vendorUrl,
    backend: config.backend,
  });
  return { loaded, model };
}

function useModel({ loaded, model }) {
  metadata = loaded;
  classifier = model;
  play.showGameIntro(metadata.categories, roundSeconds);
  ui.showModelReady(model);
  play.enableStart(true);
  // The test hook, as on the other pages: only where the server's TEST_HOOKS switch allows it.
  if (!config.testHooks) return;
  window.__doodles = {
    predictStrokes: (strokes) => model.predict(strokes),
    getStrokes: () => canvas.strokes,
    backend: model.backend,
    version: model.version,
  };
}

async function start() {
  ui.showModelLoading();
  const { metadataUrl } = chooseModel(config, (name) => switchSet(name));
  const { url, set } = await metadataUrl;
  try {
    useModel(await loadModel(url));
    performance.mark('model-ready');
  } catch (error) {
    console.error('The model failed to load', error);
    ui.showModelError(error.message);
    return;
  }
  watchForNewVersions(metadataUrlFor(config, set));
}

let watcher = null;
function watchForNewVersions(url) {
  watcher?.stop();
  watcher = watchModel({
    url,
    version: metadata.version,
    seconds: pollSeconds(config.dataset),
    onNewVersion: (newer) => {
      pendingMetadata = newer;
      applyPendingModel();
    },
  });
}

/** Switch to a newer model only between rounds, never while a round is being drawn. */
let readyModel = null; // A newer model already loaded, waiting for the round to end.
async function applyPendingModel() {
  const roundOn = round && !round.over;
  if (readyModel && !roundOn) {
    useModel(readyModel);
    watcher?.setVersion(readyModel.loaded.version);
    readyModel = null;
  }
  if (!pendingMetadata || roundOn) return;
  const newer = pendingMetadata;
  pendingMetadata = null;
  try {
    const model = await loadClassifier({
      metadata: newer,
      metadataUrl: modelBaseUrl(newer, config.metadataUrl),
      vendorUrl: config.vendorUrl,
      backend: config.backend,
    });
    // A round may have started while it loaded: then it waits for that round's end.
    readyModel = { loaded: newer, model };
    applyPendingModel();
  } catch (error) {
    console.error('The new model version failed to load; keeping the current one', error);
  }
}

async function switchSet(name) {
  if (round && !round.over) return;
  ui.showModelLoading();
  play.enableStart(false);
  const metadataUrl = metadataUrlFor(config, name);
  try {
    useModel(await loadModel(metadataUrl));
    watchForNewVersions(metadataUrl);
  } catch (error) {
    ui.showModelError(error.message);
  }
}

// ---- Speech ----

function readSpeechSetting() {
  try {
    return window.localStorage.getItem(SPEECH_KEY) === 'on';
  } catch {
    return false;
  }
}

function say(text, urgent = false) {
  if (!speechEnabled || !('speechSynthesis' in window)) return;
  const now = performance.now();
  if (text === lastSpoken.text || (!urgent && now - lastSpoken.at < SPEECH_GAP_MS)) return;
  lastSpoken = { text, at: now };
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

play.setUpSpeechToggle(speechEnabled, (enabled) => {
  speechEnabled = enabled;
  try {
    window.localStorage.setItem(SPEECH_KEY, enabled ? 'on' : 'off');
  } catch {
    // The choice lasts for this page only.
  }
  if (!enabled && 'speechSynthesis' in window) window.speechSynthesis.cancel();
});

// ---- Game ----

function newGame() {
  if (!classifier) return;
  const id = window.crypto.randomUUID ? window.crypto.randomUUID() : String(Date.now()) + Math.random();
  game = { id, prompts: gamePrompts(metadata), records: [], donatedIds: null };
  startRound(0);
}

function startRound(index) {
  const label = game.prompts[index];
  canvas.setLocked(false);
  canvas.clear();
  round = { index, label, judge: createRoundJudge(label), deadline: 0, timer: 0, ranked: [], decision: null, over: false };
  play.showScreen('round');
  play.showRound({ label, round: index + 1, rounds: game.prompts.length, secondsLeft: roundSeconds });
  ui.showDrawingState({ isEmpty: true });
  canvas.element.focus({ preventScroll: true });
  say(`Draw ${withArticle(label)}`, true);
  round.deadline = performance.now() + roundSeconds * 1000;
  round.timer = window.setInterval(tick, 100);
}

function tick() {
  const left = Math.max(0, Math.ceil((round.deadline - performance.now()) / 1000));
  play.showTimer(left);
  if (left === 0) endRound(false);
}

function onPrediction(ranked, revision) {
  if (!round || round.over) return;
  const decision = decideGuess(ranked, canvas.strokes, metadata);
  const accessories = ranked.filter(({ label }) => label !== decisionBlock(metadata).other_label);
  round.ranked = accessories;
  round.decision = decision;
  round.revision = revision;
  const won = round.judge.observe(decision);
  const sentence = guessSentence({ decision, ranked: accessories, won, prompt: round.label });
  play.showGuessSentence(sentence, decision.label, revision);
  say(sentence, won);
  if (won) {
    endRound(true);
  } else if (round.judge.streak > 0) {
    // A streak needs consecutive frames: look again at the next frame even if nothing moved.
    live.schedule();
  }
}

function endRound(recognized) {
  if (!round || round.over) return;
  round.over = true;
  window.clearInterval(round.timer);
  canvas.setLocked(true);
  const strokes = canvas.strokes;
  const last = round.index === game.prompts.length - 1;
  game.records.push({
    label: round.label,
    strokes,
    recognized,
    guess: round.decision?.label ?? '',
    drawable: strokes.length > 0 && round.decision?.state !== 'too-small',
    top: strokes.length ? topGuesses(round.ranked) : [],
  });
  play.showRoundResult({ round: round.index + 1, recognized, label: round.label, last });
  applyPendingModel();
  if (!recognized) say(`Time’s up.`, true);
}

function next() {
  if (!game || !round || !round.over) return false;
  if (round.index + 1 < game.prompts.length) {
    startRound(round.index + 1);
  } else {
    showSummary();
  }
  return true;
}

async function showSummary() {
  round = null;
  canvas.clear();
  play.showScreen('summary');
  play.showSummary(game.records, null);
  applyPendingModel();
  if (game.records.some((record) => !record.recognized)) {
    const examples = await loadExamples();
    if (examples) play.showSummary(game.records, examples);
  }
}

let examplesCache = null;
async function loadExamples() {
  if (examplesCache || !config.examplesUrl) return examplesCache;
  try {
    const response = await fetch(config.examplesUrl);
    if (response.ok) examplesCache = (await response.json()).drawings ?? null;
  } catch (error) {
    console.warn('No example drawings', error);
  }
  return examplesCache;
}

function quit() {
  if (!game) return;
  if (round) window.clearInterval(round.timer);
  round = null;
  game = null;
  canvas.setLocked(false);
  canvas.clear();
  play.showScreen('start');
  play.focusStart();
  applyPendingModel();
}

// ---- Donation (CONTRACTS §4: one request, all or none, idempotent per game) ----

let donating = false;
async function donate() {
  if (!game || donating) return;
  const drawings = game.records.filter((record) => record.drawable).map(({ label, strokes }) => ({ label, strokes }));
  if (drawings.length === 0) {
    play.showDonation('error', 'There is nothing to donate: every canvas was empty.');
    return;
  }
  donating = true;
  play.showDonation('pending', `Sending ${drawings.length} drawings…`);
  try {
    const response = await fetch(config.drawingsUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': game.id },
      body: JSON.stringify({ drawings }),
    });
    const body = await response.json().catch(() => ({}));
    if ((response.status === 201 || response.status === 200) && Array.isArray(body.ids)) {
      game.donatedIds = body.ids;
      const left = game.records.length - drawings.length;
      const note = left ? ` (${left} empty ${left === 1 ? 'canvas was' : 'canvases were'} left out)` : '';
      play.showDonation('success', `Stored ${body.ids.length} drawings — thank you!${note}`, body.ids.length);
      play.markDonated();
    } else {
      play.showDonation('error', `Not stored: ${body.error || `the server answered HTTP ${response.status}`}`);
    }
  } catch {
    play.showDonation('error', 'Not stored: the server could not be reached. Try again.');
  } finally {
    donating = false;
  }
}

// ---- Wiring ----

canvas.addEventListener('change', () => {
  ui.showDrawingState({ isEmpty: canvas.isEmpty });
  if (classifier && round && !round.over) live.schedule();
});
ui.onUndo(() => {
  if (round && !round.over) canvas.undo();
});
ui.onClear(() => {
  if (round && !round.over) canvas.clear();
});
play.onButtons({ start: newGame, next, quit, donate, again: newGame });
play.onKeys({
  advance: () => {
    if (!game && classifier) {
      newGame();
      return true;
    }
    return next();
  },
  quit,
});
start();
