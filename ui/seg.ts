/// <reference lib="dom" />
/**
 * The per-class IoU card of segmentation runs: teacher, baseline and
 * student (or a supervised run's phases) as grouped bars per class. The
 * card stays hidden for runs without per-class IoU (detection).
 */
import type { RunDetailReply } from "./api.ts";
import { renderBarChart } from "./chart.ts";
import { byId } from "./dom.ts";
import { classIou } from "./seg_data.ts";

/** Renders the card; `color` gives each model (phase) its colour. */
export function renderIouPanel(
  detail: RunDetailReply | null,
  color: (name: string) => string,
): void {
  const r = detail?.report;
  const models = r?.teacher || r?.student
    ? {
      teacher: r.teacher?.metrics,
      baseline: r.baseline?.metrics,
      student: r.student?.metrics,
    }
    : detail?.metrics ?? {};
  const { classes, series } = classIou(models);
  const card = byId("iou-card");
  card.hidden = classes.length === 0;
  if (card.hidden) return;
  renderBarChart(
    byId<SVGSVGElement>("iou-chart"),
    classes,
    series.map((s) => ({
      label: s.name,
      color: color(s.name),
      values: s.values,
    })),
    {
      format: classes.length * series.length > 24
        ? null
        : (v) => (100 * v).toFixed(0),
      empty: "no per-class IoU",
    },
  );
}
