/**
 * How the study prints its numbers (Markdown tables and the dashboard
 * share it): `mean ± std`, signed deltas with a true minus sign, and the
 * marks of a partial entry. Imports nothing at run time, so the browser
 * bundle stays small.
 */
import type { SeedStat, TableEntry } from "./results.ts";

/** `37.1 ± 1.2`, or `37.1` for one seed. */
export function formatStat(s: SeedStat): string {
  return s.std === null
    ? s.mean.toFixed(1)
    : `${s.mean.toFixed(1)} ± ${s.std.toFixed(1)}`;
}

/** `+2.3`, `−0.4`. */
export function formatDelta(d: number): string {
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(1)}`;
}

/** A stat of differences: `+2.3 ± 0.5`, `+2.3`, or `–` when missing. */
export function formatSignedStat(s: SeedStat | null): string {
  if (!s) return "–";
  return `${formatDelta(s.mean)}${
    s.std === null ? "" : ` ± ${s.std.toFixed(1)}`
  }`;
}

/** One table entry: `mean ± std (Δ)`, with `[n/N seeds]` while partial, `–` when empty. */
export function formatEntry(e: TableEntry): string {
  if (!e.stat) return "–";
  const parts = [formatStat(e.stat)];
  if (e.delta !== null) parts.push(`(${formatDelta(e.delta)})`);
  if (e.stat.n < e.planned) parts.push(`[${e.stat.n}/${e.planned} seeds]`);
  return parts.join(" ");
}
