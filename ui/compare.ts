/// <reference lib="dom" />
/**
 * Teacher / compute-matched baseline / student on every metric of the
 * report, with Δ(student − baseline) as the headline row and Δ(student −
 * teacher) second. Values are fractions (COCO AP, mIoU, pixel accuracy)
 * shown as percentages; a negative value (COCO's "undefined") shows as "–".
 */
import type { ReportModel, SelfTrainReport } from "./api.ts";
import { byId, h, setText } from "./dom.ts";
import { CLASS_IOU } from "./seg_data.ts";

type Metrics = Record<string, number>;

const valid = (v: number | undefined): v is number =>
  v !== undefined && Number.isFinite(v) && v >= 0;

/** A fraction as a percentage with one decimal. */
function pct(v: number | undefined): string {
  return valid(v) ? (100 * v).toFixed(1) : "–";
}

/** A difference of fractions as signed percentage points. */
function signed(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const s = (100 * v).toFixed(1);
  return v > 0 && s !== "0.0" ? `+${s}` : s === "-0.0" ? "0.0" : s;
}

/**
 * Student − `against` per metric: `report.delta[against]` where it has the
 * metric, else the difference of the two models where both are defined.
 */
function delta(
  r: SelfTrainReport,
  against: "baseline" | "teacher",
  names: string[],
): Metrics | null {
  const given = r.delta?.[against];
  const s = r.student?.metrics ?? {};
  const o = r[against]?.metrics ?? {};
  if (!given && !(r.student?.metrics && r[against]?.metrics)) return null;
  const out: Metrics = {};
  for (const k of names) {
    if (given?.[k] !== undefined) out[k] = given[k];
    else if (valid(s[k]) && valid(o[k])) out[k] = s[k] - o[k];
  }
  return out;
}

function budget(m: ReportModel | undefined): string {
  if (!m) return "";
  const parts: string[] = [];
  if (m.humanPerStep !== undefined) parts.push(`${m.humanPerStep} human`);
  if (m.pseudoPerStep !== undefined) parts.push(`${m.pseudoPerStep} pseudo`);
  return parts.join(" + ");
}

function row(
  cls: string,
  cells: string[],
  values: (string | [string, string])[],
): HTMLTableRowElement {
  const tr = h("tr", cls);
  tr.append(h("th", "", cells[0]));
  for (const c of cells.slice(1)) tr.append(h("td", "", c));
  for (const v of values) {
    tr.append(
      typeof v === "string" ? h("td", "num", v) : h("td", `num ${v[1]}`, v[0]),
    );
  }
  return tr;
}

function deltaCells(d: Metrics | null, names: string[]): [string, string][] {
  return names.map((k) => {
    const v = d?.[k];
    const cls = v === undefined || Math.abs(v) < 5e-4
      ? ""
      : v > 0
      ? "up"
      : "down";
    return [signed(v), cls];
  });
}

/** Renders the comparison card from a run's `report.json`. */
export function renderComparison(report: SelfTrainReport | null): void {
  const box = byId("compare");
  const r = report ?? {};
  const models = (["teacher", "baseline", "student"] as const)
    .filter((k) => r[k]?.metrics && Object.keys(r[k]!.metrics!).length);
  // Per-class numbers (`IoU/<class>`) have their own chart.
  const names = [
    ...new Set(models.flatMap((k) => Object.keys(r[k]!.metrics!))),
  ].filter((k) => !k.includes(CLASS_IOU));
  if (models.length === 0) {
    setText("compare-headline", "");
    box.replaceChildren(h("p", "muted", "no teacher / student metrics"));
    return;
  }
  const head = h("tr");
  for (const c of ["", "steps", "images / step", ...names]) {
    head.append(h("th", "", c));
  }
  const t = h("table", "compare");
  t.append(head);
  for (const k of models) {
    const m = r[k]!;
    const label = m.reusedTeacher
      ? `${k} (= teacher)`
      : m.init
      ? `${k} (from ${m.init})`
      : k;
    t.append(
      row(
        k,
        [label, m.steps === undefined ? "–" : String(m.steps), budget(m)],
        names.map((n) => pct(m.metrics?.[n])),
      ),
    );
  }
  const vsBase = r.baseline ? delta(r, "baseline", names) : null;
  const vsTeacher = r.teacher ? delta(r, "teacher", names) : null;
  if (vsBase) {
    t.append(
      row(
        "delta headline",
        ["Δ vs baseline", "", ""],
        deltaCells(vsBase, names),
      ),
    );
  }
  if (vsTeacher) {
    t.append(
      row("delta", ["Δ vs teacher", "", ""], deltaCells(vsTeacher, names)),
    );
  }
  const key = ["AP", "mIoU"].find((k) => names.includes(k)) ?? names[0];
  const main = vsBase ?? vsTeacher;
  setText(
    "compare-headline",
    main && main[key] !== undefined
      ? `student − ${vsBase ? "baseline" : "teacher"}: ${
        signed(main[key])
      } ${key}`
      : "",
  );
  box.replaceChildren(t);
}
