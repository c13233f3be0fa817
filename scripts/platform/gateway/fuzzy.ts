/**
 * "Perhaps you meant ..." matching for error hints: the closest candidate by edit distance,
 * scored from 0 (nothing alike) to 1 (equal), like the fuzzy search PostgREST uses for hints.
 */

/** Levenshtein distance between two strings. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** Similarity in [0, 1]: 1 minus the edit distance over the longer length. */
export function similarity(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 1 : 1 - distance(a, b) / longest;
}

/**
 * The candidate most similar to `target`, if its score reaches `minScore`.
 *
 * @example closest("claim_job", ["claim_jobs", "fail_job"], 0.75) // "claim_jobs"
 */
export function closest(
  target: string,
  candidates: string[],
  minScore: number,
): string | undefined {
  let best: string | undefined;
  let bestScore = minScore;
  for (const candidate of candidates) {
    const score = similarity(target, candidate);
    if (score >= bestScore && (best === undefined || score > bestScore)) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
