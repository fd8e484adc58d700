// The game's rules (webapp/static/js/game.js) and the pages' use of decide() (decision.js).
// Run from the repository root: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MAX_ROUNDS,
  WIN_FRAMES,
  createRoundJudge,
  gamePrompts,
  guessSentence,
  listOf,
  shuffled,
  withArticle,
} from "../../webapp/static/js/game.js";
import { DEFAULT_DECISION, decideGuess, drawingExtent } from "../../webapp/static/js/decision.js";

const CATEGORIES = ["alpha", "beta", "gamma", "delta"];
const WITH_OTHER = {
  categories: CATEGORIES,
  outputs: [...CATEGORIES, "other"],
  decision: { other_label: "other", reject_below: 0.3, unsure_below: 0.6, min_extent: 10 },
};

test("every category is prompted once, in a shuffled order", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const prompts = gamePrompts({ categories: CATEGORIES }, random);
  assert.deepEqual([...prompts].sort(), [...CATEGORIES].sort());
  assert.deepEqual(shuffled([]), []);
});

test("the metadata can narrow the game's set and rounds", () => {
  assert.deepEqual(gamePrompts({ categories: CATEGORIES, game: { categories: ["beta", "nope"] } }), ["beta"]);
  assert.equal(gamePrompts({ categories: CATEGORIES, game: { rounds: 2 } }).length, 2);
  const many = Array.from({ length: 30 }, (_, index) => `c${index}`);
  assert.equal(gamePrompts({ categories: many }).length, MAX_ROUNDS);
});

test("a round is won after WIN_FRAMES confident frames of the prompt in a row", () => {
  const judge = createRoundJudge("beta");
  const named = { state: "named", label: "beta", probability: 0.9 };
  for (let frame = 1; frame < WIN_FRAMES; frame += 1) assert.equal(judge.observe(named), false);
  assert.equal(judge.observe(named), true);
});

test("other, too-small, unsure, another label or a low probability break the streak", () => {
  const named = { state: "named", label: "beta", probability: 0.9 };
  const breakers = [
    { state: "other", label: null, probability: 0.95 },
    { state: "too-small", label: null, probability: 0.95 },
    { state: "unsure", label: "beta", probability: 0.95 },
    { state: "named", label: "alpha", probability: 0.95 },
    { state: "named", label: "beta", probability: 0.79 },
  ];
  for (const breaker of breakers) {
    const judge = createRoundJudge("beta");
    judge.observe(named);
    judge.observe(named);
    assert.equal(judge.observe(breaker), false);
    assert.equal(judge.streak, 0);
  }
});

test("articles", () => {
  assert.equal(withArticle("umbrella"), "an umbrella");
  assert.equal(withArticle("sock"), "a sock");
  assert.equal(withArticle("eyeglasses"), "eyeglasses");
  assert.equal(withArticle("dress"), "a dress");
  assert.equal(withArticle("uniform"), "a uniform");
  assert.equal(withArticle("underwear"), "an underwear");
  assert.equal(listOf(["a", "b", "c"]), "a, b or c");
});

test("guess sentences", () => {
  const ranked = [
    { label: "gamma", probability: 0.5 },
    { label: "alpha", probability: 0.3 },
  ];
  assert.equal(guessSentence({ decision: { state: "unsure", label: "gamma" }, ranked, prompt: "alpha" }), "I see gamma… or alpha?");
  assert.equal(guessSentence({ decision: { state: "named", label: "alpha" }, ranked, won: true, prompt: "alpha" }), "Oh, I know — it’s an alpha!");
  assert.equal(guessSentence({ decision: { state: "too-small", label: null }, ranked }), "Keep drawing…");
  assert.match(guessSentence({ decision: { state: "other", label: null }, ranked }), /any accessory/);
});

test("decideGuess() applies decide() with the metadata's block, or the defaults", () => {
  const ranked = (values) => values.map(([label, probability]) => ({ label, probability }));
  const big = [[[0, 50], [0, 50]]];
  // Too small: a short extent or fewer than two points.
  assert.equal(decideGuess(ranked([["alpha", 0.9], ["other", 0.1]]), [[[0, 5], [0, 5]]], WITH_OTHER).state, "too-small");
  assert.equal(decideGuess(ranked([["alpha", 0.9], ["other", 0.1]]), [[[0], [0]]], WITH_OTHER).state, "too-small");
  // "other" on top, or the best accessory under reject_below: no label, the best accessory's probability.
  assert.deepEqual(decideGuess(ranked([["other", 0.7], ["alpha", 0.2], ["beta", 0.1]]), big, WITH_OTHER), {
    state: "other",
    label: null,
    probability: 0.2,
  });
  assert.equal(decideGuess(ranked([["alpha", 0.29], ["beta", 0.28], ["gamma", 0.27], ["delta", 0.16]]), big, WITH_OTHER).state, "other");
  assert.deepEqual(decideGuess(ranked([["alpha", 0.5], ["beta", 0.3], ["gamma", 0.2]]), big, WITH_OTHER), {
    state: "unsure",
    label: "alpha",
    probability: 0.5,
  });
  assert.deepEqual(decideGuess(ranked([["beta", 0.9], ["alpha", 0.1]]), big, WITH_OTHER), { state: "named", label: "beta", probability: 0.9 });
  // Metadata without a decision block: nothing rejected, 0.5 is the unsure line, 12 pixels the smallest mark.
  const plain = { categories: CATEGORIES };
  assert.equal(DEFAULT_DECISION.min_extent, 12);
  assert.equal(decideGuess(ranked([["alpha", 0.4], ["beta", 0.3]]), big, plain).state, "unsure");
  assert.equal(decideGuess(ranked([["alpha", 0.7], ["beta", 0.3]]), big, plain).state, "named");
  assert.equal(decideGuess(ranked([["alpha", 0.7], ["beta", 0.3]]), [[[0, 11], [0, 0]]], plain).state, "too-small");
});

test("drawingExtent", () => {
  assert.deepEqual(drawingExtent([]), { extent: 0, points: 0 });
  assert.deepEqual(drawingExtent([[[0, 10], [5, 45]], [[3], [2]]]), { extent: 43, points: 3 });
});
