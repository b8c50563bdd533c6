/**
 * Dependency-free SVG plots: loss curves (one line per phase, log-scaled
 * y) beside a bar chart of AP per phase, and a line plot over categories
 * (AP against labelled fraction or augmentation) with ± error bars.
 */

/** One curve. */
export interface Series {
  /** Legend name. */
  name: string;
  /** `[x, y]` points. */
  points: [number, number][];
}

/** One bar. */
export interface Bar {
  /** Label. */
  name: string;
  /** Value in [0, 1]. */
  value: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders curves (left panel) and bars (right panel) as an SVG document. */
export function renderCurvesSvg(
  series: readonly Series[],
  bars: readonly Bar[],
): string {
  const W = 760, H = 320, pad = 40, plotW = 480, barX = pad + plotW + 60;
  const all = series.flatMap((s) => s.points).filter(([, y]) => y > 0);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${pad}" y="18" font-size="13">training loss (log scale)</text>`,
    `<rect x="${pad}" y="${pad}" width="${plotW}" height="${
      H - 2 * pad
    }" fill="none" stroke="#999"/>`,
  ];
  if (all.length) {
    const xMax = Math.max(...all.map(([x]) => x));
    const ly = all.map(([, y]) => Math.log10(y));
    const yMin = Math.min(...ly), yMax = Math.max(...ly) + 1e-9;
    const sx = (x: number) => pad + (x / xMax) * plotW;
    const sy = (y: number) =>
      H - pad - ((Math.log10(y) - yMin) / (yMax - yMin)) * (H - 2 * pad);
    parts.push(
      `<text x="${pad - 4}" y="${pad + 4}" text-anchor="end">${
        (10 ** yMax).toPrecision(2)
      }</text>`,
    );
    parts.push(
      `<text x="${pad - 4}" y="${H - pad}" text-anchor="end">${
        (10 ** yMin).toPrecision(2)
      }</text>`,
    );
    parts.push(
      `<text x="${pad + plotW}" y="${
        H - pad + 14
      }" text-anchor="end">step ${xMax}</text>`,
    );
    series.forEach((s, i) => {
      const pts = s.points.filter(([, y]) => y > 0).map(([x, y]) =>
        `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`
      );
      const color = COLORS[i % COLORS.length];
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${
          pts.join(" ")
        }"/>`,
      );
      parts.push(
        `<text x="${pad + 8}" y="${pad + 14 + 14 * i}" fill="${color}">${
          esc(s.name)
        }</text>`,
      );
    });
  }
  parts.push(`<text x="${barX}" y="18" font-size="13">AP (val)</text>`);
  const bw = 50, base = H - pad, maxH = H - 2 * pad;
  const top = Math.max(0.01, ...bars.map((b) => b.value));
  bars.forEach((b, i) => {
    const h = (Math.max(0, b.value) / top) * maxH * 0.9;
    const x = barX + i * (bw + 20);
    parts.push(
      `<rect x="${x}" y="${base - h}" width="${bw}" height="${h}" fill="${
        COLORS[i % COLORS.length]
      }"/>`,
    );
    parts.push(
      `<text x="${x + bw / 2}" y="${base - h - 4}" text-anchor="middle">${
        (100 * b.value).toFixed(1)
      }</text>`,
    );
    parts.push(
      `<text x="${x + bw / 2}" y="${base + 14}" text-anchor="middle">${
        esc(b.name)
      }</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** One line of `renderCategoryPlotSvg`: a value (and spread) per category. */
export interface CategorySeries {
  /** Legend name. */
  name: string;
  /** Value per category (`null`: not measured), in the plot's units. */
  values: readonly (number | null)[];
  /** Half-height of the error bar per category (e.g. a std), if any. */
  spread?: readonly (number | null)[];
}

/** What `renderCategoryPlotSvg` draws. */
export interface CategoryPlot {
  /** Title above the plot. */
  title: string;
  /** Category names along x, in order. */
  categories: readonly string[];
  /** Label of the y axis. */
  yLabel: string;
  /** The lines. */
  series: readonly CategorySeries[];
}

/**
 * A line per series over evenly spaced categories, with error bars and a
 * linear y axis fitted to the values (bars included). Gaps (`null`) break
 * a line.
 */
export function renderCategoryPlotSvg(p: CategoryPlot): string {
  const W = 560, H = 320, left = 56, right = 170, top = 40, bottom = 44;
  const plotW = W - left - right, plotH = H - top - bottom;
  const lows: number[] = [], highs: number[] = [];
  for (const s of p.series) {
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const e = s.spread?.[i] ?? 0;
      lows.push(v - (e ?? 0));
      highs.push(v + (e ?? 0));
    });
  }
  let lo = lows.length ? Math.min(...lows) : 0;
  let hi = highs.length ? Math.max(...highs) : 1;
  if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
  const margin = 0.08 * (hi - lo);
  lo -= margin;
  hi += margin;
  const n = p.categories.length;
  const sx = (i: number) =>
    left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const sy = (v: number) => top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13">${esc(p.title)}</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${
      top + plotH / 2
    })" text-anchor="middle">${esc(p.yLabel)}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = lo + (hi - lo) * t / 4;
    parts.push(
      `<text x="${left - 4}" y="${sy(v) + 4}" text-anchor="end">${
        v.toFixed(1)
      }</text>`,
    );
  }
  p.categories.forEach((c, i) =>
    parts.push(
      `<text x="${sx(i)}" y="${top + plotH + 16}" text-anchor="middle">${
        esc(c)
      }</text>`,
    )
  );
  p.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        parts.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${
            run.join(" ")
          }"/>`,
        );
      }
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return flush();
      const x = sx(i), y = sy(v);
      run.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      const e = s.spread?.[i];
      if (e) {
        parts.push(
          `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${
            sy(v - e).toFixed(1)
          }" y2="${sy(v + e).toFixed(1)}" stroke="${color}" stroke-width="1"/>`,
        );
      }
      parts.push(
        `<circle cx="${x.toFixed(1)}" cy="${
          y.toFixed(1)
        }" r="3" fill="${color}" data-series="${esc(s.name)}"/>`,
      );
    });
    flush();
    parts.push(
      `<text x="${left + plotW + 10}" y="${
        top + 12 + 14 * k
      }" fill="${color}">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
