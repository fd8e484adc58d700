// What the pages add around decide() (model.js, CONTRACTS §3): the rule's defaults for a
// model whose metadata has no "decision" block, and the decision for a live guess.

import * as model from './model.js';

// decide() and drawingExtent() belong in model.js (CONTRACTS §3), where stream A writes them as
// the twin of preprocessing/decision.py. Until that lands, these copies of the same rule stand
// in; once model.js exports them, the page uses model.js's and these are never called.

function extentHere(strokes) {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity, points = 0;
  for (const [xs, ys] of strokes) {
    for (let index = 0; index < xs.length; index += 1) {
      minX = Math.min(minX, xs[index]); maxX = Math.max(maxX, xs[index]);
      minY = Math.min(minY, ys[index]); maxY = Math.max(maxY, ys[index]);
      points += 1;
    }
  }
  return points ? { extent: Math.max(maxX - minX, maxY - minY), points } : { extent: 0, points: 0 };
}

function decideHere(probabilities, decision, extent = null, points = null) {
  if ((extent !== null && extent < decision.min_extent) || (points !== null && points < 2)) {
    return { state: 'too-small', label: null };
  }
  const names = Object.keys(probabilities);
  if (names.length === 0) throw new Error('no probabilities to decide on');
  const otherLabel = decision.other_label ?? null;
  // Ties go to the first output, as numpy's argmax and Python's max do.
  let top = names[0];
  for (const name of names) if (probabilities[name] > probabilities[top]) top = name;
  let best = null;
  for (const name of names) {
    if (name !== otherLabel && (best === null || probabilities[name] > probabilities[best])) best = name;
  }
  if (best === null || top === otherLabel || probabilities[best] < decision.reject_below) {
    return { state: 'other', label: null };
  }
  if (probabilities[best] < decision.unsure_below) return { state: 'unsure', label: top };
  return { state: 'named', label: top };
}

/** `decide(probabilities, decision, extent, points)` → `{state, label}`: model.js's, or the stand-in. */
export const decide = model.decide ?? decideHere;
/** `drawingExtent(strokes)` → `{extent, points}`: model.js's, or the stand-in. */
export const drawingExtent = model.drawingExtent ?? extentHere;

/**
 * The rule for metadata without a "decision" block (the defaults of preprocessing/decision.py):
 * nothing rejected, "not sure" below one half, a mark under 12 CSS pixels too small to judge.
 */
export const DEFAULT_DECISION = Object.freeze({ other_label: null, reject_below: 0, unsure_below: 0.5, min_extent: 12 });

/** The metadata's decision block, or the defaults. */
export function decisionBlock(metadata) {
  return metadata?.decision ?? DEFAULT_DECISION;
}

/**
 * Decide about ranked guesses (`[{label, probability}]`, "other" included when the model has
 * it) of `strokes`. Returns decide()'s `{state, label}` plus `probability`: the named label's,
 * or the best accessory's when none is named.
 */
export function decideGuess(ranked, strokes, metadata) {
  const { extent, points } = drawingExtent(strokes);
  const probabilities = Object.fromEntries(ranked.map(({ label, probability }) => [label, probability]));
  const block = decisionBlock(metadata);
  const decision = decide(probabilities, block, extent, points);
  const accessories = ranked.filter(({ label }) => label !== block.other_label);
  const probability = decision.label ? probabilities[decision.label] : (accessories[0]?.probability ?? 0);
  return { ...decision, probability };
}
