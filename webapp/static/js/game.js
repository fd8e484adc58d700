// The rules of the /play game, with no DOM: rounds, the win rule, and what the model "says".
//
// Win rule (also in docs/play.md): a round is won as soon as the model's top-1 answer is the
// prompt, with the decision state "named" and a probability of at least WIN_PROBABILITY, on
// WIN_FRAMES consecutive predictions (one prediction per animation frame at most). "None of
// these" ("other"), "too-small" and "unsure" answers never count and break the streak. A round
// is lost when its countdown (ROUND_SECONDS) reaches zero.

export const ROUND_SECONDS = 20;
export const WIN_PROBABILITY = 0.8;
export const WIN_FRAMES = 3;
/** The most drawings a donation may carry (CONTRACTS §4: a batch holds at most 12). */
export const MAX_ROUNDS = 12;

/** Shuffle a copy of `items` (Fisher–Yates) with `random()` in [0, 1). */
export function shuffled(items, random = Math.random) {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}

/**
 * The prompts of one game: every category once, in random order. The metadata may narrow
 * the set (`game.categories`) or the number of rounds (`game.rounds`).
 */
export function gamePrompts(metadata, random = Math.random) {
  const game = metadata.game ?? {};
  const pool = (Array.isArray(game.categories) ? game.categories : metadata.categories).filter((label) =>
    metadata.categories.includes(label),
  );
  const rounds = Math.min(Number.isInteger(game.rounds) && game.rounds > 0 ? game.rounds : pool.length, pool.length, MAX_ROUNDS);
  return shuffled(pool, random).slice(0, rounds);
}

/** Judge one round: `observe(decision)` after each prediction; true once the round is won. */
export function createRoundJudge(prompt, { probability = WIN_PROBABILITY, frames = WIN_FRAMES } = {}) {
  let streak = 0;
  return {
    observe(decision) {
      const counts = decision.state === 'named' && decision.label === prompt && decision.probability >= probability;
      streak = counts ? streak + 1 : 0;
      return streak >= frames;
    },
    get streak() {
      return streak;
    },
  };
}

/** A noun with its indefinite article ("an apple", "a hat"); plural nouns ("pants") get none. */
export function withArticle(noun) {
  const word = noun.trim();
  const lower = word.toLowerCase();
  if (/[^s]s$/.test(lower)) return word;
  // "u" sounding like "you" (uniform, useful) takes "a"; other vowels take "an".
  if (/^u[bcdfghjklmnpqrstvwxz][aeiou]/.test(lower) && !/^u(mb|nd|nl|ng|ps|pr|tt)/.test(lower)) return `a ${word}`;
  return /^[aeiou]/.test(lower) ? `an ${word}` : `a ${word}`;
}

/** Join names as "a, b or c". */
export function listOf(names, conjunction = 'or') {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} ${conjunction} ${names[names.length - 1]}`;
}

/**
 * What the model "says" about the drawing so far, as Quick Draw does: `ranked` is the
 * accessories most likely first, `decision` from decide(), `won` whether the round is won.
 */
export function guessSentence({ decision, ranked, won = false, prompt = null }) {
  if (won) return `Oh, I know — it’s ${withArticle(prompt)}!`;
  if (decision.state === 'too-small') return 'Keep drawing…';
  if (decision.state === 'other') return 'Hmm… that doesn’t look like any accessory I know.';
  const names = ranked.filter((item) => item.label !== decision.label).slice(0, 1).map((item) => item.label);
  if (decision.state === 'unsure' || decision.label !== prompt) {
    return names.length ? `I see ${decision.label}… or ${names[0]}?` : `I see ${decision.label}…`;
  }
  return `I see ${decision.label}…`;
}

/** The first `count` ranked guesses, as {label, probability}. */
export function topGuesses(ranked, count = 3) {
  return ranked.slice(0, count).map(({ label, probability }) => ({ label, probability }));
}
