// What the pages add around decide() (model.js, the twin of preprocessing/decision.py): the rule's defaults for a
// model whose metadata has no "decision" block, and the decision for a live guess.

import { decide, drawingExtent } from './model.js';

export { decide, drawingExtent };

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
 * The label of "something else" for a model: its decision's other_label when the model has
 * that output, else null (the twin of other_label() in webapp/validation.py).
 */
export function otherLabel(metadata) {
  const label = decisionBlock(metadata).other_label;
  return label && (metadata?.outputs ?? []).includes(label) ? label : null;
}

/** What a drawing is called on the pages: its category, or for "something else" the name it was given. */
export function drawingTitle(drawing, other) {
  if (other === null || drawing.label !== other) return drawing.label;
  return drawing.name ? `something else: ${drawing.name}` : 'something else';
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
