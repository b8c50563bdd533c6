/// <reference lib="dom" />
/**
 * The pseudo-label panel: counts, the teacher's score histogram coloured by
 * what the labeler does with each score band, per-class pseudo-label shares
 * beside the human ones (disagreeing classes marked), and the preview images
 * (`samples/pseudo_*.jpg`, the teacher's boxes coloured by fate). For pseudo
 * masks (`unit: "pixels"`): the ignored-pixel fraction, pixel shares per
 * class and the mask overlays; masks have no score histogram.
 */
import type { PseudoLabelReport, RunDetailReply } from "./api.ts";
import { sampleUrl } from "./api.ts";
import { fmt, PALETTE, renderBarChart } from "./chart.ts";
import { binFate, classShares, FATE_COLORS, scoreBins } from "./pseudo_data.ts";
import { byId, figure, h, setText, table } from "./dom.ts";
import type { RunSnapshot } from "../plugins/server/state.ts";

/** Most preview images shown. */
const MAX_PREVIEWS = 24;

/** True for a preview image name under `samples/`. */
export function isPreview(name: string): boolean {
  return /^pseudo_/.test(name);
}

/** A fraction as a percentage with one decimal. */
function percent(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

/** True for a report of pseudo masks (pixels), not boxes. */
function isMasks(pl: PseudoLabelReport | null): boolean {
  return pl?.unit === "pixels";
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The labeler's threshold and ignore band from the run's config. */
function labelerCuts(
  detail: RunDetailReply | null,
): { threshold?: number; ignoreBelow?: number } {
  const p = detail?.config?.pseudo;
  if (!p || typeof p !== "object") return {};
  const q = p as Record<string, unknown>;
  return { threshold: num(q.threshold), ignoreBelow: num(q.ignoreBelow) };
}

function renderStats(pl: PseudoLabelReport | null, snap: RunSnapshot): void {
  const rows: [string, string][] = [];
  if (pl) {
    for (const [k, x] of Object.entries(pl)) {
      if (typeof x === "number") {
        rows.push([k, k.endsWith("_fraction") ? percent(x) : fmt(x, 6)]);
      } else if (typeof x === "string") rows.push([k, x]);
      else if (typeof x === "boolean") rows.push([k, x ? "yes" : "no"]);
    }
    if (pl.images && pl.boxes !== undefined) {
      rows.push(["boxes / image", fmt(pl.boxes / pl.images)]);
    }
  }
  for (const p of snap.phases.filter((q) => /pseudo|label/i.test(q.name))) {
    rows.push([`${p.name} progress`, `${p.done} / ${p.total} ${p.unit}`]);
    for (const [k, x] of Object.entries(p.metrics)) {
      rows.push([`${p.name} ${k}`, fmt(x, 6)]);
    }
  }
  byId("pseudo").replaceChildren(
    rows.length ? table(rows) : h("p", "muted", "no pseudo-labels yet"),
  );
}

function renderHistogram(
  pl: PseudoLabelReport | null,
  detail: RunDetailReply | null,
): void {
  const bins = scoreBins(pl?.score_histogram);
  const { threshold, ignoreBelow } = labelerCuts(detail);
  const fates = new Map(
    bins.map((b) => [b.label, binFate(b, threshold, ignoreBelow)]),
  );
  renderBarChart(
    byId<SVGSVGElement>("score-hist"),
    bins.map((b) => b.label),
    [{
      label: "boxes",
      color: PALETTE[0],
      values: Object.fromEntries(bins.map((b) => [b.label, b.count])),
    }],
    {
      legend: false,
      empty: "no score histogram",
      xLabel: threshold === undefined
        ? "teacher score"
        : `teacher score (threshold ${fmt(threshold)}${
          ignoreBelow ? `, ignored from ${fmt(ignoreBelow)}` : ""
        })`,
      format: (v) => fmt(v, 6),
      barColor: (g, s) => {
        const fate = fates.get(g);
        return fate ? FATE_COLORS[fate] : s.color;
      },
    },
  );
}

function renderClasses(pl: PseudoLabelReport | null): void {
  const s = classShares(pl?.per_class, pl?.human_per_class);
  const series = [
    { label: "pseudo", color: PALETTE[1], values: s.pseudo },
    { label: "human", color: PALETTE[0], values: s.human },
  ].filter((b) => Object.keys(b.values).length > 0);
  renderBarChart(byId<SVGSVGElement>("class-chart"), s.classes, series, {
    highlight: s.flagged,
    format: s.classes.length > 8 ? null : (v) => `${Math.round(100 * v)}%`,
    empty: "no per-class counts",
  });
  const notes: string[] = [];
  if (s.total > s.classes.length) {
    notes.push(`the ${s.classes.length} largest of ${s.total} classes.`);
  }
  if (s.flagged.size) {
    notes.push(
      `! pseudo share far from the human share: ${[...s.flagged].join(", ")}`,
    );
  }
  setText("class-note", notes.join(" "));
}

function renderPreviews(
  pl: PseudoLabelReport | null,
  detail: RunDetailReply | null,
): void {
  const box = byId("pseudo-previews");
  const listed = new Set(detail?.samples ?? []);
  // Names the report gives, when they are on disk; else any pseudo_* file.
  const names = (pl?.previews ?? detail?.samples.filter(isPreview) ?? [])
    .map((n) => n.split(/[\\/]/).pop() ?? n)
    .filter((n) => listed.has(n))
    .slice(0, MAX_PREVIEWS);
  const key = `${detail?.id}:${names.join("|")}`;
  if (box.dataset.key === key) return; // keep loaded images while streaming
  box.dataset.key = key;
  box.replaceChildren(
    ...names.map((n) => figure(sampleUrl(detail!.id, n), n)),
  );
  if (names.length === 0) {
    box.append(h("p", "muted", "no pseudo-label previews"));
  }
}

/** Renders the pseudo-label panel of a run. */
export function renderPseudoPanel(
  snap: RunSnapshot,
  detail: RunDetailReply | null,
): void {
  const pl = detail?.report?.pseudo_labels ?? null;
  const masks = isMasks(pl);
  byId("score-hist-box").hidden = masks;
  byId("fate-legend").hidden = masks;
  setText(
    "class-title",
    masks
      ? "Pixels per class, share of all labelled pixels"
      : "Boxes per class, share of all boxes",
  );
  setText(
    "preview-title",
    masks
      ? "Pseudo masks on unlabelled images (darkened: ignored pixels)"
      : "Pseudo-labelled images: the teacher's boxes by fate",
  );
  renderStats(pl, snap);
  if (!masks) renderHistogram(pl, detail);
  renderClasses(pl);
  renderPreviews(pl, detail);
}
