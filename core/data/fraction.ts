/**
 * The labelled fraction of a training split, shared by every dataset: a
 * seeded shuffle of the listed entries, cut to `round(fraction · n)`.
 * Because the cut is a prefix of one permutation per seed, a smaller
 * fraction is a subset of a larger one (20% ⊂ 50% ⊂ 100%), so a study over
 * fractions compares nested label sets, as the paper's did.
 */
import { Rng, seedFor } from "../rng.ts";

/**
 * `round(fraction * n)` entries (at least 1) chosen by a seeded shuffle of
 * the list, returned in list order. The same seed gives the same entries,
 * and a smaller fraction is a subset of a larger one.
 */
export function selectFraction<T>(
  entries: readonly T[],
  fraction: number,
  seed: number,
): T[] {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new Error(`fraction must be in (0, 1], got ${fraction}`);
  }
  if (fraction === 1) return [...entries];
  const n = Math.max(1, Math.round(fraction * entries.length));
  const order = new Rng(seedFor(seed, 0x66726163)).shuffle([...entries.keys()]);
  return order.slice(0, n).sort((a, b) => a - b).map((i) => entries[i]);
}
