/**
 * Plain data for the pseudo-label views (no DOM, so tests import it):
 * per-class shares of pseudo and human labels with the classes whose shares
 * disagree marked, the score histogram's bins, and each bin's fate.
 */

/** Pseudo and human label shares per class, for one chart. */
export interface ClassShares {
  /** Classes drawn, largest share first (at most `maxClasses`). */
  classes: string[];
  /** Share of kept pseudo boxes per class (sums to 1 over all classes). */
  pseudo: Record<string, number>;
  /** Share of human boxes per class. */
  human: Record<string, number>;
  /** Classes whose pseudo share differs a lot from their human share. */
  flagged: Set<string>;
  /** Classes in either distribution, drawn or not. */
  total: number;
}

/**
 * True when a pseudo share differs a lot from the human share: 10 points
 * apart, or 2 points apart and under half or over twice the human share.
 */
export function sharesDisagree(pseudo: number, human: number): boolean {
  const eps = 1e-9; // 0.35 - 0.25 is 0.0999…
  const gap = Math.abs(pseudo - human);
  if (gap >= 0.1 - eps) return true;
  return gap >= 0.02 - eps && (pseudo >= 2 * human || 2 * pseudo <= human);
}

function shares(counts: Record<string, number>): Record<string, number> {
  const valid = Object.entries(counts).filter(([, n]) =>
    Number.isFinite(n) && n >= 0
  );
  const sum = valid.reduce((a, [, n]) => a + n, 0);
  return Object.fromEntries(valid.map(([k, n]) => [k, sum > 0 ? n / sum : 0]));
}

/**
 * Shares of `pseudo` and `human` box counts per class. A class missing from
 * one side has share 0 there. Only the `maxClasses` classes with the largest
 * share (either side) are drawn; flagged ones among them are marked.
 */
export function classShares(
  pseudo: Record<string, number> | undefined,
  human: Record<string, number> | undefined,
  maxClasses = 20,
): ClassShares {
  const p = shares(pseudo ?? {});
  const h = shares(human ?? {});
  const names = [...new Set([...Object.keys(h), ...Object.keys(p)])];
  const top = (c: string) => Math.max(p[c] ?? 0, h[c] ?? 0);
  const classes = names
    .sort((a, b) => top(b) - top(a) || a.localeCompare(b))
    .slice(0, maxClasses);
  const hasBoth = Object.keys(p).length > 0 && Object.keys(h).length > 0;
  const flagged = new Set(
    hasBoth ? classes.filter((c) => sharesDisagree(p[c] ?? 0, h[c] ?? 0)) : [],
  );
  for (const c of classes) {
    if (pseudo) p[c] ??= 0;
    if (human) h[c] ??= 0;
  }
  return { classes, pseudo: p, human: h, flagged, total: names.length };
}

/** What the labeler does with a teacher box of a given score. */
export type Fate = "kept" | "ignored" | "dropped";

/** One bar of the score histogram. */
export interface ScoreBin {
  /** Label, the bin's lower edge. */
  label: string;
  /** Lower edge. */
  lo: number;
  /** Upper edge. */
  hi: number;
  /** Boxes in the bin. */
  count: number;
}

/**
 * The bins of a score histogram. `edges` may hold every boundary (one more
 * than `counts`) or only the lower edges (then the last bin ends at 1).
 */
export function scoreBins(
  hist: { edges?: number[]; counts?: number[] } | null | undefined,
): ScoreBin[] {
  const counts = hist?.counts ?? [];
  const edges = hist?.edges ?? [];
  if (edges.length < counts.length) return [];
  return counts.map((count, i) => {
    const lo = edges[i];
    const hi = edges[i + 1] ?? 1;
    return { label: lo.toFixed(2).replace(/0$/, ""), lo, hi, count };
  });
}

/**
 * The fate of boxes in `[lo, hi)` under the labeler's `threshold` (kept at
 * or above) and `ignoreBelow` (ignore regions from there up to the
 * threshold; 0 or missing: none). A bin that straddles a cut takes the fate
 * of its middle. `null` when the threshold is unknown.
 */
export function binFate(
  bin: { lo: number; hi: number },
  threshold: number | undefined,
  ignoreBelow: number | undefined,
): Fate | null {
  if (threshold === undefined || !Number.isFinite(threshold)) return null;
  const mid = (bin.lo + bin.hi) / 2;
  if (mid >= threshold) return "kept";
  if (ignoreBelow && ignoreBelow > 0 && mid >= ignoreBelow) return "ignored";
  return "dropped";
}

/** Colours of the three fates, as the preview images draw them. */
export const FATE_COLORS: Readonly<Record<Fate, string>> = {
  kept: "#2fa84f",
  ignored: "#f0922b",
  dropped: "#d9413a",
};
