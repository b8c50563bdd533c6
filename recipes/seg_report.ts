/**
 * The segmentation self-training report, in the shape of the detection one
 * (`report.ts`) so the dashboard reads both: teacher, compute-matched
 * baseline and student with their metrics (`mIoU`, `pixelAccuracy`,
 * `IoU/<class>` on val, `tune/...` on tune), Δ rows, and the pseudo masks'
 * statistics (ignored-pixel fraction, pixels per class beside the human
 * ones), counted from the mask files so a resumed run reports them whole.
 * Writes `report.md` and `curves.svg`; the runner writes the returned
 * object as `report.json`.
 */
import { exists, writeFileAtomic } from "../core/fs.ts";
import { IGNORE_LABEL } from "../core/types.ts";
import { decodeMaskPng } from "../image/mask_png.ts";
import {
  readCheckedMask,
  type SegmentationDataset,
} from "../plugins/voc/mod.ts";
import { PseudoLabelStore } from "../selftrain/pseudo_store.ts";
import { readCoco } from "../selftrain/mod.ts";
import { TUNE_PREFIX } from "./detection.ts";
import {
  classTable,
  comparisonTable,
  lossSeries,
  metricDelta,
  pct,
  type SelfTrainPhases,
  signed,
} from "./report.ts";
import { IOU_PREFIX } from "./segmentation.ts";
import { renderCurvesSvg } from "../image/svg_plot.ts";
import { describeInit } from "./backbone_init.ts";

/** Pixels per class of a set of masks. */
export interface PixelCounts {
  /** Labelled pixels per class name. */
  perClass: Record<string, number>;
  /** Pixels labelled 255 (ignored). */
  ignored: number;
  /** All pixels. */
  total: number;
  /** Masks counted. */
  images: number;
}

/** Adds one mask's pixels to `c` (a class index past `classNames` is an error naming `what`). */
function addMask(
  c: PixelCounts,
  mask: Uint8Array,
  classNames: readonly string[],
  what: string,
): void {
  const counts = new Float64Array(classNames.length);
  for (const v of mask) {
    if (v === IGNORE_LABEL) c.ignored++;
    else if (v < counts.length) counts[v]++;
    else throw new Error(`${what}: class index ${v} out of range`);
  }
  classNames.forEach((n, k) => c.perClass[n] += counts[k]);
  c.total += mask.length;
  c.images++;
}

function emptyCounts(classNames: readonly string[]): PixelCounts {
  return {
    perClass: Object.fromEntries(classNames.map((n) => [n, 0])),
    ignored: 0,
    total: 0,
    images: 0,
  };
}

/** Pixels per class of the human masks of `data` (source resolution). */
export async function humanPixelCounts(
  data: SegmentationDataset,
): Promise<PixelCounts> {
  const c = emptyCounts(data.classNames);
  for (const e of data.entries) {
    if (!e.mask) continue;
    const mask = await readCheckedMask(e, data.classNames.length);
    addMask(c, mask, data.classNames, e.mask);
  }
  return c;
}

/** Pixels per class of the pseudo masks listed in `<labelsDir>/pseudo_labels.json`. */
export async function pseudoPixelCounts(
  labelsDir: string,
  classNames: readonly string[],
): Promise<PixelCounts> {
  const coco = await readCoco(PseudoLabelStore.cocoPathFor(labelsDir));
  const c = emptyCounts(classNames);
  for (const im of coco.images) {
    const path = `${labelsDir}/${im.file_name}`;
    addMask(
      c,
      decodeMaskPng(await Deno.readFile(path), path).data,
      classNames,
      path,
    );
  }
  return c;
}

/** What `pascal-selftrain` knows when it reports. */
export interface SegSelfTrainOutcome extends SelfTrainPhases {
  /** Folder of the pseudo masks and their store. */
  labelsDir: string;
  /** Pseudo-labelling settings shown with the statistics. */
  pseudo: { threshold: number; tta: boolean };
  /** The human-labelled split. */
  human: SegmentationDataset;
}

/** Writes report.md and curves.svg; returns the report object. */
export async function writeSegSelfTrainReport(
  out: string,
  o: SegSelfTrainOutcome,
): Promise<Record<string, unknown>> {
  const classNames = o.human.classNames;
  const humanCounts = await humanPixelCounts(o.human);
  const pseudoCounts = await pseudoPixelCounts(o.labelsDir, classNames);
  const t = o.teacher.metrics, b = o.baseline.metrics, st = o.student.metrics;
  const all = [...new Set([...Object.keys(t), ...Object.keys(st)])];
  const summaryNames = all.filter((k) => !k.includes(IOU_PREFIX));
  const classKeys = classNames.map((n) => IOU_PREFIX + n)
    .filter((k) => k in t || k in b || k in st);
  const samples = `${out}/samples`;
  const previews = await exists(samples)
    ? [...Deno.readDirSync(samples)].map((e) => e.name)
      .filter((n) => n.startsWith("pseudo_")).sort()
    : [];
  const ignoredFraction = pseudoCounts.total
    ? pseudoCounts.ignored / pseudoCounts.total
    : 0;
  const tuneKey = `${TUNE_PREFIX}mIoU`;
  const summary = [
    `${o.recipe} (seed ${o.seed}, backend ${o.backend}; numbers on val, tune/ on tune)`,
    `initialisation (teacher, student, baseline): ${describeInit(o.init)}`,
    `student ${o.student.steps} steps of ${o.student.humanPerStep} human + ${o.student.pseudoPerStep} pseudo images; ` +
    `baseline ${o.baseline.steps} steps of ${o.baseline.humanPerStep} human images from the same ${o.baseline.init} init` +
    (o.baseline.reusedTeacher ? " (the teacher itself)" : "") +
    `; teacher ${o.teacher.steps} steps`,
    `Δ mIoU (student − compute-matched baseline): ${
      signed(st.mIoU - b.mIoU)
    } on val` + (st[tuneKey] === undefined
      ? ""
      : `; on tune ${signed(st[tuneKey] - b[tuneKey])} (student ${
        pct(st[tuneKey])
      }, baseline ${pct(b[tuneKey])})`),
    comparisonTable(t, b, st, summaryNames),
  ].join("\n");
  const grid = previews.map((p) => `![${p}](samples/${p})`).join(" ");
  const md = [
    `# Self-training report (segmentation)\n\n${summary}\n`,
    `## IoU per class (val)\n`,
    comparisonTable(t, b, st, classKeys),
    `\n![curves](curves.svg)\n`,
    `## Pseudo masks\n`,
    `${pseudoCounts.images} images; ${
      pct(ignoredFraction)
    }% of their pixels ignored (top teacher probability < ${o.pseudo.threshold}${
      o.pseudo.tta ? ", multi-scale + flip teacher" : ""
    }).\n`,
    classTable(humanCounts.perClass, pseudoCounts.perClass, "pixels"),
    grid
      ? `\nPseudo masks on unlabelled images (darkened: ignored).\n\n${grid}\n`
      : "",
  ].join("\n");
  await writeFileAtomic(`${out}/report.md`, md);
  await writeFileAtomic(
    `${out}/curves.svg`,
    renderCurvesSvg(await lossSeries(out), [
      { name: "teacher", value: t.mIoU ?? 0 },
      { name: "baseline", value: b.mIoU ?? 0 },
      { name: "student", value: st.mIoU ?? 0 },
    ]),
  );
  const report = {
    recipe: o.recipe,
    task: "segmentation",
    seed: o.seed,
    backend: o.backend,
    init: o.init,
    teacher: { metrics: t, steps: o.teacher.steps },
    baseline: {
      metrics: b,
      steps: o.baseline.steps,
      init: o.baseline.init,
      humanPerStep: o.baseline.humanPerStep,
      reusedTeacher: o.baseline.reusedTeacher,
    },
    student: {
      metrics: st,
      steps: o.student.steps,
      humanPerStep: o.student.humanPerStep,
      pseudoPerStep: o.student.pseudoPerStep,
    },
    delta: {
      baseline: metricDelta(st, b, all),
      teacher: metricDelta(st, t, all),
    },
    pseudo_labels: {
      unit: "pixels",
      images: pseudoCounts.images,
      ignored_fraction: ignoredFraction,
      threshold: o.pseudo.threshold,
      tta: o.pseudo.tta,
      file: PseudoLabelStore.cocoPathFor(o.labelsDir),
      per_class: pseudoCounts.perClass,
      human_per_class: humanCounts.perClass,
      previews,
    },
    seconds: o.seconds,
    summary,
  };
  return report;
}
