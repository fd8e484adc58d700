// The gallery: approved drawings, one category at a time, newest first.
//
// The categories come from the served model's metadata, like every page's; the chosen one
// is kept in the URL's fragment (#<category>) so that a category can be linked to.

import { drawingTitle, otherLabel } from './decision.js';
import { loadMetadata } from './model.js';

const PAGE_SIZE = 48;

const main = document.getElementById('main');
const galleryUrl = main.dataset.galleryUrl;
const buttons = document.getElementById('gallery-categories');
const grid = document.getElementById('gallery-grid');
const statusLine = document.getElementById('gallery-status');
const moreButton = document.getElementById('gallery-more');

let current = null;
let next = null;
let other = null; // The label of "something else", when the model has "none of these".
// Answers for a category the visitor has since left are dropped.
let generation = 0;

/** Show a line of status: state is idle, pending or error. */
function showStatus(state, message) {
  statusLine.dataset.state = state;
  statusLine.textContent = message;
}

/** What a category's button and status line call it. */
function categoryTitle(category) {
  return category === other ? 'something else' : category;
}

/** One approved drawing; "something else" shows the name it was given. */
function tile(drawing) {
  const item = document.createElement('li');
  item.className = 'gallery-tile';
  item.dataset.id = String(drawing.id);
  const image = document.createElement('img');
  image.className = 'review-image';
  image.src = drawing.image_url;
  image.alt = drawing.label === other ? `A drawing of ${drawing.name || 'something else'}` : `A ${drawing.label} someone drew`;
  image.width = 112;
  image.height = 112;
  image.loading = 'lazy';
  item.append(image);
  if (drawing.label === other) {
    const caption = document.createElement('p');
    caption.className = 'review-label';
    caption.dataset.testid = 'gallery-name';
    caption.textContent = drawingTitle(drawing, other);
    item.append(caption);
  }
  return item;
}

/** Fetch the next page of the current category and append it. */
async function loadPage() {
  const mine = generation;
  const query = new URLSearchParams({ label: current, limit: String(PAGE_SIZE) });
  if (next !== null) query.set('before', String(next));
  moreButton.disabled = true;
  try {
    const response = await fetch(`${galleryUrl}?${query}`, { headers: { Accept: 'application/json' } });
    const body = await response.json().catch(() => ({}));
    if (mine !== generation) return;
    if (!response.ok) throw new Error(body.error || `the server answered HTTP ${response.status}`);
    grid.append(...body.drawings.map(tile));
    next = body.next;
    moreButton.hidden = next === null;
    const shown = grid.children.length;
    const title = categoryTitle(current);
    showStatus('idle', shown === 0 ? `No approved ${title} drawings yet.` : `${shown} approved ${title} drawing${shown === 1 ? '' : 's'}${next === null ? '' : ' so far'}.`);
  } catch (error) {
    if (mine === generation) showStatus('error', `Could not load the gallery: ${error.message}`);
  } finally {
    moreButton.disabled = false;
  }
}

/** Switch to a category: mark its button, clear the grid, load its first page. */
function choose(category) {
  current = category;
  next = null;
  generation += 1;
  for (const button of buttons.querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.label === category));
  }
  grid.replaceChildren();
  moreButton.hidden = true;
  showStatus('pending', `Loading ${categoryTitle(category)} drawings…`);
  if (window.location.hash !== `#${category}`) history.replaceState(null, '', `#${category}`);
  loadPage();
}

/** A button per category the model names. */
function showCategories(categories) {
  buttons.replaceChildren(
    ...categories.map((category) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'button gallery-category';
      button.dataset.label = category;
      button.textContent = categoryTitle(category);
      button.setAttribute('aria-pressed', 'false');
      button.addEventListener('click', () => choose(category));
      return button;
    }),
  );
}

moreButton.addEventListener('click', () => loadPage());

loadMetadata(main.dataset.metadataUrl)
  .then((metadata) => {
    other = otherLabel(metadata);
    const categories = other === null ? metadata.categories : [...metadata.categories, other];
    showCategories(categories);
    const wanted = decodeURIComponent(window.location.hash.slice(1));
    choose(categories.includes(wanted) ? wanted : categories[0]);
  })
  .catch((error) => showStatus('error', `Could not load the categories: ${error.message}`));
