// The review page: a keyboard-first grid of pending drawings for moderators.
//
// The admin token is asked once and kept in sessionStorage (this tab only, gone when it
// closes); it travels only in the Authorization header, never in a URL. Arrows move
// between drawings, Space selects, A approves and R rejects the selection (or, with none,
// the drawing that has focus).

import { drawingTitle, otherLabel } from './decision.js';
import { loadMetadata } from './model.js';

const TOKEN_KEY = 'doodles.adminToken';
const PAGE_SIZE = 48;

const main = document.getElementById('main');
const reviewUrl = main.dataset.reviewUrl;
const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token-input');
const tokenError = document.getElementById('token-error');
const panel = document.getElementById('review-panel');
const grid = document.getElementById('review-grid');
const statusLine = document.getElementById('review-status');

// The label of "something else" (the served model's metadata says which, if any); null until known.
const otherReady = loadMetadata(main.dataset.metadataUrl).then(otherLabel).catch(() => null);
let other = null;
let busy = false;
// The tile that last had focus: the toolbar buttons act on it after taking the focus themselves.
let lastFocused = null;

/** The stored token, or null. */
function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Show a line of status: state is idle, pending, success or error. */
function showStatus(state, message) {
  statusLine.dataset.state = state;
  statusLine.textContent = message;
}

/** Ask for the token (again), with the reason when there is one. */
function askForToken(reason = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  panel.hidden = true;
  tokenForm.hidden = false;
  tokenError.textContent = reason;
  tokenInput.value = '';
  tokenInput.focus();
}

/** Call the review API with the token; returns the parsed body or throws an Error with a message to show. */
async function callApi(url, options = {}) {
  const token = storedToken();
  const response = await fetch(url, {
    ...options,
    headers: { Accept: 'application/json', Authorization: `Bearer ${token}`, ...(options.headers ?? {}) },
    credentials: 'omit',
    cache: 'no-store',
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) return body;
  const error = new Error(body.error || `the server answered HTTP ${response.status}`);
  error.status = response.status;
  error.retryAfter = response.headers.get('Retry-After');
  throw error;
}

/** Turn a failed call into what the moderator sees: the token form for a 401, a status line otherwise. */
function showFailure(error) {
  if (error.status === 401) {
    askForToken(`The server refused the token: ${error.message}`);
  } else if (error.status === 429) {
    askForToken(`Too many failed attempts; try again in ${error.retryAfter ?? 'a few'} seconds.`);
  } else if (error.status === 404) {
    askForToken(error.message);
  } else {
    showStatus('error', `Something went wrong: ${error.message}`);
  }
}

/** Percent with no decimals, for the model's probability. */
function percent(probability) {
  return `${Math.round(probability * 100)}%`;
}

/** What the reference model saw: its top guess, with all three in the tooltip. */
function referenceLine(drawing) {
  const line = document.createElement('p');
  line.className = 'review-reference';
  line.dataset.testid = 'review-reference';
  line.dataset.doubts = String(drawing.reference_doubts === true);
  if (!drawing.reference?.length) {
    line.textContent = 'reference: no opinion';
    return line;
  }
  const [top] = drawing.reference;
  line.textContent = `reference: ${top.label} (${percent(top.probability)})`;
  line.title = drawing.reference.map(({ label, probability }) => `${label} ${percent(probability)}`).join(', ');
  return line;
}

/** One grid tile: the drawing, its label (with its name, for "something else"), what the model and the reference said. */
function tile(drawing) {
  const item = document.createElement('li');
  item.className = 'review-tile';
  item.tabIndex = -1;
  item.setAttribute('role', 'option');
  item.dataset.id = String(drawing.id);
  item.dataset.testid = 'review-tile';
  item.dataset.label = drawing.label;
  item.setAttribute('aria-selected', 'false');
  const disagrees = drawing.guess !== drawing.label || drawing.reference_doubts === true;
  item.dataset.disagrees = String(disagrees);
  const title = drawingTitle(drawing, other);

  const image = document.createElement('img');
  image.className = 'review-image';
  image.alt = `Drawing ${drawing.id}, labelled ${title}`;
  image.width = 112;
  image.height = 112;
  if (drawing.image) image.src = drawing.image;

  const label = document.createElement('p');
  label.className = 'review-label';
  label.textContent = title;

  const guess = document.createElement('p');
  guess.className = 'review-guess';
  guess.textContent = drawing.guess == null
    ? 'model: no guess'
    : `model: ${drawing.guess}${drawing.guess_probability == null ? '' : ` (${percent(drawing.guess_probability)})`}`;

  const reference = referenceLine(drawing);
  item.append(image, label, guess, reference);
  item.setAttribute('aria-label', `#${drawing.id} ${title}; ${guess.textContent}; ${reference.textContent}`);
  return item;
}

/** Every tile on the page, in order. */
function tiles() {
  return [...grid.querySelectorAll('.review-tile')];
}

/** Give one tile the focus (the grid keeps a single tab stop: the focused tile). */
function focusTile(target) {
  for (const item of tiles()) item.tabIndex = item === target ? 0 : -1;
  if (target) target.focus();
}

/** How many tiles a row of the grid holds, from where they were laid out. */
function columns(all) {
  if (all.length === 0) return 1;
  const top = all[0].offsetTop;
  const count = all.filter((item) => item.offsetTop === top).length;
  return Math.max(1, count);
}

/** Load the first page of the queue (decided drawings have left it, so paging restarts at 0). */
async function loadQueue() {
  showStatus('pending', 'Loading pending drawings…');
  try {
    const body = await callApi(`${reviewUrl}?limit=${PAGE_SIZE}&offset=0`);
    other = await otherReady;
    grid.replaceChildren(...body.drawings.map(tile));
    tokenForm.hidden = true;
    panel.hidden = false;
    if (body.drawings.length === 0) {
      showStatus('success', 'Nothing to review: every contribution has been decided.');
    } else {
      const shown = body.drawings.length;
      const total = body.pending ?? shown;
      const more = total > shown ? ` (${shown} shown)` : '';
      showStatus('idle', `${total} pending drawing${total === 1 ? '' : 's'}${more}, doubtful ones first (the model or the reference disagrees).`);
      focusTile(tiles()[0]);
    }
  } catch (error) {
    showFailure(error);
  }
}

/** The drawings an action applies to: the selected ones, or else the focused one. */
function targets() {
  const selected = tiles().filter((item) => item.getAttribute('aria-selected') === 'true');
  if (selected.length > 0) return selected;
  const focused = document.activeElement?.closest?.('.review-tile') ?? lastFocused;
  return focused && focused.isConnected ? [focused] : [];
}

/** Approve or reject the target drawings, then move on to the next one. */
async function decide(status) {
  const chosen = targets();
  if (busy || chosen.length === 0) return;
  busy = true;
  const all = tiles();
  const after = all.slice(all.indexOf(chosen[chosen.length - 1]) + 1).find((item) => !chosen.includes(item));
  const before = all.slice(0, all.indexOf(chosen[0])).reverse().find((item) => !chosen.includes(item));
  const ids = chosen.map((item) => Number(item.dataset.id));
  showStatus('pending', `Saving ${ids.length} decision${ids.length === 1 ? '' : 's'}…`);
  try {
    const body = await callApi(reviewUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ids, status }),
    });
    for (const item of chosen) item.remove();
    showStatus('success', `${status === 'approved' ? 'Approved' : 'Rejected'} ${body.updated} drawing${body.updated === 1 ? '' : 's'}.`);
    if (tiles().length === 0) {
      await loadQueue();
    } else {
      focusTile(after ?? before ?? tiles()[0]);
    }
  } catch (error) {
    showFailure(error);
  } finally {
    busy = false;
  }
}

/** Select or unselect a tile. */
function toggle(item) {
  item.setAttribute('aria-selected', String(item.getAttribute('aria-selected') !== 'true'));
}

grid.addEventListener('keydown', (event) => {
  const item = event.target.closest('.review-tile');
  if (!item || event.ctrlKey || event.metaKey || event.altKey) return;
  const all = tiles();
  const index = all.indexOf(item);
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(all), ArrowDown: columns(all) }[event.key];
  if (step !== undefined) {
    event.preventDefault();
    const next = all[Math.min(all.length - 1, Math.max(0, index + step))];
    focusTile(next);
  } else if (event.key === ' ') {
    event.preventDefault();
    toggle(item);
  } else if (event.key === 'a' || event.key === 'A') {
    event.preventDefault();
    decide('approved');
  } else if (event.key === 'r' || event.key === 'R') {
    event.preventDefault();
    decide('rejected');
  }
});

grid.addEventListener('focusin', (event) => {
  lastFocused = event.target.closest('.review-tile') ?? lastFocused;
});

grid.addEventListener('click', (event) => {
  const item = event.target.closest('.review-tile');
  if (!item) return;
  toggle(item);
  focusTile(item);
});

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) {
    tokenError.textContent = 'Enter the admin token.';
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = '';
  loadQueue();
});

document.getElementById('approve-button').addEventListener('click', () => decide('approved'));
document.getElementById('reject-button').addEventListener('click', () => decide('rejected'));
document.getElementById('reload-button').addEventListener('click', () => loadQueue());
document.getElementById('forget-button').addEventListener('click', () => askForToken());

if (storedToken()) {
  loadQueue();
} else {
  askForToken();
}
