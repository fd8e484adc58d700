// The game's rules (webapp/static/js/game.js) and the decision rule (model.js decide()).
// Run from the repository root: node --test tests/js/

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
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
import { DEFAULT_DECISION, decide, drawingExtent } from "../../webapp/static/js/model.js";

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

test("decide() follows CONTRACTS §3", () => {
  // Too small: a short extent or fewer than two points.
  assert.equal(decide([0.9, 0.1, 0, 0, 0], WITH_OTHER, 5).state, "too-small");
  assert.equal(decide([0.9, 0.1, 0, 0, 0], WITH_OTHER, 50, 1).state, "too-small");
  // "other" on top, or the best accessory under reject_below.
  assert.deepEqual(decide([0.2, 0.1, 0, 0, 0.7], WITH_OTHER, 50), { state: "other", label: null, probability: 0.2 });
  assert.equal(decide([0.29, 0.28, 0.27, 0.16, 0], WITH_OTHER, 50).state, "other");
  // Unsure below unsure_below, named above; objects keyed by output work too.
  assert.deepEqual(decide([0.5, 0.3, 0.1, 0.1, 0], WITH_OTHER, 50), { state: "unsure", label: "alpha", probability: 0.5 });
  assert.deepEqual(decide({ alpha: 0.05, beta: 0.9, gamma: 0, delta: 0, other: 0.05 }, WITH_OTHER, 50), {
    state: "named",
    label: "beta",
    probability: 0.9,
  });
  // A model without "outputs" or "decision": nothing is rejected, 0.5 is the unsure line.
  const plain = { categories: CATEGORIES };
  assert.equal(DEFAULT_DECISION.unsure_below, 0.5);
  assert.equal(decide([0.4, 0.3, 0.2, 0.1], plain, 1).state, "unsure");
  assert.equal(decide([0.7, 0.1, 0.1, 0.1], plain, 1).state, "named");
});

test("drawingExtent", () => {
  assert.deepEqual(drawingExtent([]), { extent: 0, points: 0 });
  assert.deepEqual(drawingExtent([[[0, 10], [5, 45]], [[3], [2]]]), { extent: 43, points: 3 });
});

// The shared golden cases, when the Python twin (preprocessing/decision.py) has written them.
const GOLDEN = new URL("../golden/decision.json", import.meta.url);
test("decide() agrees with the Python twin's golden cases", { skip: !existsSync(GOLDEN) && "tests/golden/decision.json not generated yet" }, () => {
  const golden = JSON.parse(readFileSync(GOLDEN, "utf8"));
  const cases = Array.isArray(golden) ? golden : golden.cases;
  for (const item of cases) {
    const metadata = item.metadata ?? { categories: golden.categories, outputs: golden.outputs, decision: item.decision ?? golden.decision };
    const result = decide(item.probabilities, metadata, item.extent, item.points ?? Infinity);
    assert.equal(result.state, item.expected?.state ?? item.state, JSON.stringify(item));
    assert.equal(result.label, item.expected?.label ?? item.label ?? null, JSON.stringify(item));
  }
});
