/// <reference lib="dom" />
/**
 * Renders a run (snapshot + folder detail) into the dashboard's elements.
 * Text goes through `textContent` only: run data is never parsed as HTML.
 */
import type { RunSnapshot, StepPoint } from "../plugins/server/state.ts";
import { type RunDetailReply, sampleUrl, type StatusReply } from "./api.ts";
import {
  fmt,
  type LineSeries,
  PALETTE,
  renderBarChart,
  renderLineChart,
} from "./chart.ts";
import { renderComparison } from "./compare.ts";
import { byId, figure, h, setText } from "./dom.ts";
import { isPreview, renderPseudoPanel } from "./pseudo.ts";
import { renderIouPanel } from "./seg.ts";

/** What one render shows. */
export interface View {
  /** Folded events of the run. */
  snap: RunSnapshot;
  /** Folder contents (metrics files, report, samples), when known. */
  detail: RunDetailReply | null;
  /** Memory, for the live run. */
  memory: StatusReply["memory"] | null;
}

function duration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "–";
  const s = Math.max(0, Math.round(sec));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor(s % 3600 / 60);
  return hh ? `${hh}h ${mm}m` : mm ? `${mm}m ${s % 60}s` : `${s}s`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "–" : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Colour of a phase, stable across charts. */
function phaseColor(snap: RunSnapshot, phase: string): string {
  const i = snap.phases.findIndex((p) => p.name === phase);
  return PALETTE[(i < 0 ? snap.phases.length : i) % PALETTE.length];
}

/** The recorded points of a phase plus the latest step when it is newer. */
function phasePoints(snap: RunSnapshot, phase: string): StepPoint[] {
  const pts = snap.history[phase]?.points ?? [];
  const last = snap.last;
  if (last && last.phase === phase && last.step > (pts.at(-1)?.step ?? 0)) {
    return [...pts, last];
  }
  return pts;
}

/** Shows or hides the `<dd id>` of the status list and its `<dt>`. */
function showRow(id: string, show: boolean): void {
  const dd = byId(id);
  dd.hidden = !show;
  if (dd.previousElementSibling instanceof HTMLElement) {
    dd.previousElementSibling.hidden = !show;
  }
}

function renderStatus(v: View): void {
  const { snap } = v;
  const l = snap.last;
  setText("recipe", snap.recipe || "–");
  setText("backend", snap.backend || "–");
  const ended = snap.finished && !snap.error;
  setText(
    "phase",
    ended ? `all done (${snap.phases.length} phases)` : snap.phase ?? "–",
  );
  setText("step", l ? `${l.step} / ${l.totalSteps}` : "–");
  setText(
    "loss",
    l
      ? `${fmt(l.loss, 4)} (${
        Object.entries(l.losses).map(([k, x]) => `${k} ${fmt(x)}`).join(", ")
      })`
      : "–",
  );
  setText("lr", fmt(l?.lr));
  setText("ips", fmt(l?.imagesPerSec));
  setText(
    "eta",
    snap.running ? duration(l?.etaSec) : ended ? "finished" : "–",
  );
  const m = v.memory;
  // Memory is the server's, meaningful only while it follows a live run.
  showRow("memory", m !== null);
  setText(
    "memory",
    m
      ? `rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}` +
        (m.numTensors !== undefined
          ? `, ${m.numTensors} tensors (${mib(m.numBytes)})`
          : "")
      : "–",
  );
  setText(
    "run-state",
    snap.error
      ? `failed: ${snap.error}`
      : snap.running
      ? "running"
      : snap.seconds !== null
      ? `finished in ${duration(snap.seconds)}`
      : snap.seq
      ? "stopped"
      : "waiting for a run",
  );
}

function renderPhases(snap: RunSnapshot): void {
  const box = byId("phases");
  box.replaceChildren();
  if (snap.phases.length === 0) box.append(h("p", "muted", "no phase yet"));
  for (const p of snap.phases) {
    const row = h("div", `phase ${p.status}`);
    row.dataset.phase = p.name;
    const label = h("div", "label");
    label.append(
      h("span", "", p.name),
      h("span", "", `${p.done} / ${p.total || "?"} ${p.unit} · ${p.status}`),
    );
    const bar = h("div", "bar");
    const fill = h("div", "fill");
    fill.style.width = `${
      p.total ? Math.min(100, 100 * p.done / p.total) : 0
    }%`;
    bar.append(fill);
    row.append(label, bar);
    box.append(row);
  }
}

function renderCharts(snap: RunSnapshot): void {
  const phases = Object.keys(snap.history);
  const loss: LineSeries[] = [];
  const lr: LineSeries[] = [];
  const ips: LineSeries[] = [];
  for (const ph of phases) {
    const pts = phasePoints(snap, ph);
    const color = phaseColor(snap, ph);
    const line = (id: string, pick: (p: StepPoint) => number): LineSeries => ({
      id: `${ph}:${id}`,
      label: `${ph} ${id}`,
      color,
      points: pts.map((p) => [p.step, pick(p)]),
    });
    loss.push(line("loss", (p) => p.loss));
    lr.push(line("lr", (p) => p.lr));
    ips.push(line("images/s", (p) => p.imagesPerSec));
  }
  // Components of the current phase only, to keep the chart readable.
  const cur = snap.phase && snap.history[snap.phase]
    ? snap.phase
    : phases.at(-1);
  if (cur) {
    const pts = phasePoints(snap, cur);
    Object.keys(pts.at(-1)?.losses ?? {}).forEach((k, i) =>
      loss.push({
        id: `${cur}:${k}`,
        label: `${cur} ${k}`,
        color: PALETTE[(i + 3) % PALETTE.length],
        minor: true,
        points: pts.map((p) => [p.step, p.losses[k]]),
      })
    );
  }
  renderLineChart(byId<SVGSVGElement>("loss-chart"), loss);
  renderLineChart(byId<SVGSVGElement>("lr-chart"), lr);
  renderLineChart(byId<SVGSVGElement>("ips-chart"), ips);
}

/** Metrics per phase: `phase-end` events, overridden by metrics files. */
function phaseMetrics(v: View): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const p of v.snap.phases) {
    if (Object.keys(p.metrics).length) out[p.name] = p.metrics;
  }
  return { ...out, ...v.detail?.metrics };
}

function renderAp(v: View): void {
  const metrics = phaseMetrics(v);
  const isAp = (k: string) => /^(AP|mAP|mIoU|acc)/i.test(k);
  const groups = [
    ...new Set(
      Object.values(metrics).flatMap((m) => Object.keys(m).filter(isAp)),
    ),
  ];
  const bars = Object.entries(metrics)
    .filter(([, m]) => Object.keys(m).some(isAp))
    .map(([name, values]) => ({
      label: name,
      color: phaseColor(v.snap, name),
      values,
    }));
  renderBarChart(byId<SVGSVGElement>("ap-chart"), groups, bars);
}

function renderSamples(v: View): void {
  const box = byId("samples");
  const names = (v.detail?.samples ?? []).filter((n) => !isPreview(n));
  const key = `${v.detail?.id}:${names.join("|")}`;
  if (box.dataset.key === key) return; // keep loaded images while streaming
  box.dataset.key = key;
  box.replaceChildren();
  if (!v.detail || names.length === 0) {
    box.append(h("p", "muted", "no sample images"));
  }
  for (const name of names.slice(0, 48)) {
    box.append(figure(sampleUrl(v.detail!.id, name), name));
  }
}

/** Renders everything. */
export function render(v: View): void {
  renderStatus(v);
  renderPhases(v.snap);
  renderCharts(v.snap);
  renderAp(v);
  renderComparison(v.detail?.report ?? null);
  renderIouPanel(v.detail, (name) => phaseColor(v.snap, name));
  renderPseudoPanel(v.snap, v.detail);
  renderSamples(v);
  setText("logs", v.snap.logs.slice(-50).join("\n"));
}
