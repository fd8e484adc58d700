// The /play page's document: the start screen, the round (prompt, timer, guess, result) and
// the summary. play.js decides what happens; this module only shows it and reports clicks.

import { drawThumbnail } from './canvas.js';
import { listOf, withArticle } from './game.js';

const byId = (id) => document.getElementById(id);
const percent = (probability) => `${Math.round(probability * 100)}%`;
const SCREENS = { start: 'play-start-screen', round: 'play-round-screen', summary: 'play-summary-screen' };

/** Show one screen ('start', 'round' or 'summary') and hide the others. */
export function showScreen(name) {
  for (const [screen, id] of Object.entries(SCREENS)) byId(id).hidden = screen !== name;
  byId('play').dataset.screen = name;
  // A phone must not scroll under the finger while a round is on (see app.css).
  document.documentElement.classList.toggle('is-playing', name === 'round');
  // The round takes the whole screen on a phone: bring its top into view.
  if (name === 'round') window.scrollTo({ top: Math.max(0, byId('play').offsetTop - 8), behavior: 'auto' });
}

/** Put keyboard focus on the Start button. */
export function focusStart() {
  byId('play-start').focus();
}

/** Say which accessories the model knows, and how long a round lasts. */
export function showGameIntro(categories, seconds) {
  byId('play-known').textContent = `The model knows ${categories.length} accessories: ${listOf(categories, 'and')}.`;
  byId('play-seconds').textContent = String(seconds);
}

/** Let the player start once the model is ready. */
export function enableStart(enabled) {
  byId('play-start').disabled = !enabled;
}

/**
 * Call `handler` when a button is pressed. A finger lifted on the button counts at once: right
 * after a finger drew on the locked canvas, Chrome sometimes turns the next tap into no click.
 */
function onPress(button, handler) {
  let touchedAt = -Infinity;
  button.addEventListener('pointerup', (event) => {
    if (event.pointerType !== 'touch' || button.disabled) return;
    touchedAt = event.timeStamp;
    handler();
  });
  button.addEventListener('click', (event) => {
    // The click that may follow the same touch must not press the button twice.
    if (event.timeStamp - touchedAt < 800) return;
    handler();
  });
}

/** Bind the game's buttons. */
export function onButtons({ start, next, quit, donate, again }) {
  onPress(byId('play-start'), start);
  onPress(byId('play-next'), next);
  onPress(byId('play-quit'), quit);
  onPress(byId('play-donate'), donate);
  onPress(byId('play-again'), again);
}

/** Enter/Space outside controls call `advance`; Escape calls `quit`. */
export function onKeys({ advance, quit }) {
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      quit();
      return;
    }
    // A focused button or field handles its own Enter and Space.
    if (event.target.closest?.('button, a, input, select, textarea, summary')) return;
    if (event.key === 'Enter' || event.key === ' ') {
      if (advance()) event.preventDefault();
    }
  });
}

/** Speech toggle: its stored state, and `callback(enabled)` on change. */
export function setUpSpeechToggle(enabled, callback) {
  const toggle = byId('speech-toggle');
  toggle.checked = enabled;
  toggle.addEventListener('change', () => callback(toggle.checked));
}

/** Start a round: the prompt (announced), the round number, a fresh guess line. */
export function showRound({ label, round, rounds, secondsLeft }) {
  const prompt = byId('play-prompt');
  prompt.dataset.label = label;
  prompt.dataset.round = String(round);
  prompt.textContent = `Draw ${withArticle(label)}`;
  prompt.title = `Drawing ${round} of ${rounds}`;
  showTimer(secondsLeft);
  showGuessSentence('Draw, and I’ll guess…', '');
  const result = byId('play-round-result');
  result.hidden = true;
  delete result.dataset.round;
  delete result.dataset.recognized;
  byId('play-next').hidden = true;
}

/** Show the seconds left; screen readers hear 10 and 5 seconds, not every tick. */
export function showTimer(secondsLeft) {
  const timer = byId('play-timer');
  if (timer.dataset.secondsLeft === String(secondsLeft)) return;
  timer.dataset.secondsLeft = String(secondsLeft);
  timer.textContent = `0:${String(secondsLeft).padStart(2, '0')}`;
  timer.classList.toggle('is-urgent', secondsLeft <= 5);
  if (secondsLeft === 10 || secondsLeft === 5) byId('timer-announcer').textContent = `${secondsLeft} seconds left`;
}

/** The model's sentence about the drawing at `revision`, and the label it names ('' for none). */
export function showGuessSentence(sentence, label, revision = null) {
  const guess = byId('play-guess');
  guess.dataset.label = label ?? '';
  // Benchmarks time pen move -> sentence on screen by the canvas revision it answers.
  if (revision === null) delete guess.dataset.revision;
  else guess.dataset.revision = String(revision);
  if (guess.textContent !== sentence) guess.textContent = sentence;
}

/** End a round: say whether it was recognised, and offer the next one (focused). */
export function showRoundResult({ round, recognized, label, last }) {
  const result = byId('play-round-result');
  result.dataset.round = String(round);
  result.dataset.recognized = String(recognized);
  result.dataset.state = recognized ? 'won' : 'lost';
  result.textContent = recognized ? `✓ Recognised: ${withArticle(label)}!` : `✗ Time’s up — the model didn’t see ${withArticle(label)}.`;
  result.hidden = false;
  const next = byId('play-next');
  next.textContent = last ? 'See your drawings' : 'Next drawing';
  next.hidden = false;
  next.focus({ preventScroll: true });
}

function thumbnail(strokes, className, label, side = 96) {
  const canvas = document.createElement('canvas');
  canvas.className = className;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  // Drawn once it is in the document, so its CSS colour applies.
  requestAnimationFrame(() => drawThumbnail(canvas, strokes, side));
  return canvas;
}

/**
 * The end screen: one item per round with the drawing, ✓/✗, the model's top 3 and, for a
 * lost round, real Quick Draw drawings of the prompt (`examples[label]`, when known).
 */
export function showSummary(records, examples) {
  const won = records.filter((record) => record.recognized).length;
  byId('summary-score').textContent = `The model recognised ${won} of your ${records.length} drawings.`;
  byId('play-summary').replaceChildren(
    ...records.map((record, index) => {
      const item = document.createElement('li');
      item.className = 'summary-item';
      item.dataset.label = record.label;
      item.dataset.recognized = String(record.recognized);
      item.dataset.guess = record.guess ?? '';
      const mark = document.createElement('p');
      mark.className = 'summary-mark';
      mark.textContent = `${record.recognized ? '✓' : '✗'} ${record.label}`;
      const drawing = thumbnail(record.strokes, 'summary-drawing', `Your drawing ${index + 1}: ${record.label}`);
      const top = document.createElement('p');
      top.className = 'summary-top';
      top.textContent = record.top.length
        ? `The model saw: ${record.top.map(({ label, probability }) => `${label} ${percent(probability)}`).join(', ')}`
        : 'Nothing drawn.';
      item.append(mark, drawing, top);
      const shown = record.recognized ? [] : (examples?.[record.label] ?? []);
      if (shown.length) {
        const heading = document.createElement('p');
        heading.className = 'summary-examples-title';
        heading.textContent = `How others drew ${withArticle(record.label)}:`;
        const row = document.createElement('div');
        row.className = 'summary-examples';
        row.dataset.testid = 'play-examples';
        row.append(...shown.map((example) => thumbnail(example.strokes, 'example-drawing', `A Quick Draw ${record.label}`, 48)));
        item.append(heading, row);
      }
      return item;
    }),
  );
  byId('play-donate').disabled = false;
  byId('play-donate').textContent = 'Donate these drawings';
  showDonation('idle', '');
  byId('summary-heading').focus({ preventScroll: false });
}

/** Show a donation's progress or outcome; `count` is set once drawings are stored. */
export function showDonation(state, message, count = null) {
  const status = byId('play-donated');
  status.dataset.state = state;
  status.textContent = message;
  if (count === null) delete status.dataset.count;
  else status.dataset.count = String(count);
}

/** Mark the Donate button as done (it may be pressed again: the server stores nothing twice). */
export function markDonated() {
  byId('play-donate').textContent = 'Donated ✓';
}
