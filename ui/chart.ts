/// <reference lib="dom" />
/**
 * Plain SVG charts (no chart library: the dashboard must work offline and
 * pass a `script-src 'self'` CSP): a multi-series line chart and a grouped
 * bar chart. Both redraw the whole SVG; series are small (bounded history).
 */

const NS = "http://www.w3.org/2000/svg";
const PAD = { left: 56, right: 12, top: 30, bottom: 40 };

/** Phase / series colours, assigned by index. */
export const PALETTE: readonly string[] = [
  "#3b7ddd",
  "#e0683a",
  "#3aa564",
  "#9b59b6",
  "#c9a227",
  "#17a2b8",
  "#d6457a",
  "#6b7385",
];

/** One line of a line chart. */
export interface LineSeries {
  /** Id written to the path's `data-series` (tests and styling use it). */
  id: string;
  /** Legend label. */
  label: string;
  /** Stroke colour. */
  color: string;
  /** Drawn dashed and thinner (loss components). */
  minor?: boolean;
  /** `[x, y]` points, x increasing. */
  points: [number, number][];
}

/** Drawing area: the SVG's viewBox size, so wide cards get wider charts. */
interface Frame {
  w: number;
  h: number;
}

function frame(svg: SVGSVGElement): Frame {
  const vb = svg.viewBox.baseVal;
  return { w: vb?.width || 640, h: vb?.height || 240 };
}

/** Creates an SVG element with attributes. */
function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Short number format for ticks and tables. */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

function ticks(lo: number, hi: number, n: number): number[] {
  if (hi === lo) return [lo];
  return Array.from({ length: n }, (_, i) => lo + (hi - lo) * i / (n - 1));
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  }
  return [lo, hi];
}

function axes(
  svg: SVGSVGElement,
  { w: W, h: H }: Frame,
  xs: [number, number],
  ys: [number, number],
  xLabel: string,
) {
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  svg.append(
    el("line", { class: "axis", x1: x0, y1: PAD.top, x2: x0, y2: y0 }),
  );
  svg.append(
    el("line", { class: "axis", x1: x0, y1: y0, x2: W - PAD.right, y2: y0 }),
  );
  for (const t of ticks(ys[0], ys[1], 5)) {
    const y = y0 - (t - ys[0]) / (ys[1] - ys[0]) * (y0 - PAD.top);
    svg.append(
      el("text", { x: x0 - 6, y: y + 4, "text-anchor": "end" }, fmt(t)),
    );
  }
  for (const t of ticks(xs[0], xs[1], 5)) {
    const x = x0 + (t - xs[0]) / (xs[1] - xs[0] || 1) * (W - PAD.right - x0);
    svg.append(
      el(
        "text",
        { x, y: y0 + 14, "text-anchor": "middle" },
        fmt(Math.round(t), 6),
      ),
    );
  }
  svg.append(
    el("text", {
      x: (x0 + W - PAD.right) / 2,
      y: H - 4,
      "text-anchor": "middle",
    }, xLabel),
  );
}

/** Draws `series` into `svg` (replacing its content). */
export function renderLineChart(
  svg: SVGSVGElement,
  series: LineSeries[],
  xLabel = "step",
): void {
  svg.replaceChildren();
  const f = frame(svg);
  const { w: W, h: H } = f;
  const drawn = series.filter((s) => s.points.length > 0);
  if (drawn.length === 0) {
    svg.append(
      el(
        "text",
        { x: W / 2, y: H / 2, "text-anchor": "middle" },
        "no data yet",
      ),
    );
    return;
  }
  const xs = extent(drawn.flatMap((s) => s.points.map((p) => p[0])));
  const ys = extent(drawn.flatMap((s) => s.points.map((p) => p[1])));
  axes(svg, f, xs, ys, xLabel);
  const sx = (x: number) =>
    PAD.left + (x - xs[0]) / (xs[1] - xs[0] || 1) * (W - PAD.left - PAD.right);
  const sy = (y: number) =>
    H - PAD.bottom - (y - ys[0]) / (ys[1] - ys[0]) * (H - PAD.top - PAD.bottom);
  drawn.forEach((s, i) => {
    const d = s.points
      .filter((p) => Number.isFinite(p[1]))
      .map((p, j) =>
        `${j ? "L" : "M"}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`
      )
      .join(" ");
    svg.append(el("path", {
      class: s.minor ? "series component" : "series",
      "data-series": s.id,
      "data-points": s.points.length,
      stroke: s.color,
      d,
    }));
    const lx = PAD.left + 8 + (i % 4) * 140;
    const ly = 12 + Math.floor(i / 4) * 14;
    svg.append(
      el("rect", { x: lx, y: ly - 8, width: 10, height: 3, fill: s.color }),
    );
    svg.append(el("text", { x: lx + 14, y: ly - 3 }, s.label));
  });
}

/** One series of a bar chart: a value per group. */
export interface BarSeries {
  /** Legend label; bars carry `data-bar="<label>:<group>"`. */
  label: string;
  /** Fill colour. */
  color: string;
  /** Value by group name. */
  values: Record<string, number>;
}

/** Options of `renderBarChart`. */
export interface BarChartOptions {
  /** Groups drawn on a tinted band with a marked label (`data-flagged`). */
  highlight?: ReadonlySet<string>;
  /** Fill of one bar, instead of its series colour. */
  barColor?: (group: string, series: BarSeries) => string;
  /** Value label format (default `fmt`); `null` draws no value labels. */
  format?: ((v: number) => string) | null;
  /** Draws the series legend (default true). */
  legend?: boolean;
  /** Text when there is nothing to draw. */
  empty?: string;
  /** Caption under the group labels. */
  xLabel?: string;
}

/** Grouped bars: one group per metric (or class, bin), one bar per series. */
export function renderBarChart(
  svg: SVGSVGElement,
  groups: string[],
  bars: BarSeries[],
  opts: BarChartOptions = {},
): void {
  svg.replaceChildren();
  const f = frame(svg);
  const { w: W, h: H } = f;
  if (groups.length === 0 || bars.length === 0) {
    svg.append(
      el(
        "text",
        { x: W / 2, y: H / 2, "text-anchor": "middle" },
        opts.empty ?? "no metrics yet",
      ),
    );
    return;
  }
  const all = bars.flatMap((b) => groups.map((g) => b.values[g] ?? 0));
  const top = Math.max(...all.filter(Number.isFinite), 1e-9);
  const y0 = H - PAD.bottom;
  axes(svg, f, [0, 0], [0, top], "");
  svg.querySelectorAll("text").forEach((t) => {
    if (Number(t.getAttribute("y")) > y0) t.remove(); // no numeric x ticks for categories
  });
  if (opts.xLabel) {
    svg.append(el("text", {
      x: (PAD.left + W - PAD.right) / 2,
      y: y0 + 28,
      "text-anchor": "middle",
    }, opts.xLabel));
  }
  const format = opts.format === undefined ? fmt : opts.format;
  const gw = (W - PAD.left - PAD.right) / groups.length;
  const bw = Math.min(40, (gw - Math.min(12, gw * 0.2)) / bars.length);
  groups.forEach((g, gi) => {
    const gx = PAD.left + gi * gw + (gw - bw * bars.length) / 2;
    const flagged = opts.highlight?.has(g) ?? false;
    if (flagged) {
      svg.append(el("rect", {
        class: "flag-band",
        x: PAD.left + gi * gw + 1,
        y: PAD.top,
        width: gw - 2,
        height: y0 - PAD.top,
      }));
    }
    bars.forEach((b, bi) => {
      const v = b.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const h = v / top * (y0 - PAD.top);
      const x = gx + bi * bw;
      svg.append(el("rect", {
        x,
        y: y0 - h,
        width: Math.max(1, bw - 2),
        height: h,
        fill: opts.barColor?.(g, b) ?? b.color,
        "data-bar": `${b.label}:${g}`,
      }));
      if (format) {
        svg.append(
          el("text", {
            x: x + bw / 2 - 1,
            y: y0 - h - 3,
            "text-anchor": "middle",
          }, format(v)),
        );
      }
    });
    const name = g.length > 12 ? `${g.slice(0, 11)}…` : g;
    svg.append(
      el("text", {
        x: gx + bw * bars.length / 2,
        y: y0 + 14,
        "text-anchor": "middle",
        ...(flagged ? { class: "flagged", "data-flagged": g } : {}),
      }, flagged ? `${name} !` : name),
    );
  });
  if (opts.legend === false) return;
  bars.forEach((b, i) => {
    const lx = PAD.left + 8 + i * 120;
    svg.append(
      el("rect", { x: lx, y: H - 14, width: 10, height: 10, fill: b.color }),
    );
    svg.append(el("text", { x: lx + 14, y: H - 5 }, b.label));
  });
}
