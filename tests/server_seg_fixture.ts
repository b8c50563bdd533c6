/**
 * A finished `pascal-selftrain` run folder for the dashboard tests, made by
 * the recipe's own report writer (`writeSegSelfTrainReport`) from a tiny
 * built-in segmentation set and hand-made pseudo masks, so the dashboard is
 * tested against the report shape the recipe really writes. The student is
 * trained as the teacher was, so the teacher is the baseline (no baseline
 * phase). `samples/` holds mask overlays of teacher, student and pseudo
 * masks.
 */
import { join } from "node:path";
import type { RunEvent } from "../core/events.ts";
import { writeFileAtomic } from "../core/fs.ts";
import { IGNORE_LABEL } from "../core/types.ts";
import { writeImage } from "../image/codec.ts";
import { encodeMaskPng } from "../image/mask_png.ts";
import { overlayMask } from "../plugins/augment/preview.ts";
import {
  SegmentationDataset,
  syntheticSegClasses,
  vocEntries,
} from "../plugins/voc/mod.ts";
import { writeSegSelfTrainReport } from "../recipes/seg_report.ts";
import { PseudoLabelStore } from "../selftrain/pseudo_store.ts";
import { tinySegSet } from "./recipe_helpers.ts";
import { runStartEvent, trainingEvents } from "./server_helpers.ts";

/** The run's folder name. */
export const SEG_RUN = "seg";
/** Image side of the fixture set. */
export const SEG_SIZE = 32;
/** Class names of the fixture set (background + 5 shapes). */
export const SEG_CLASS_NAMES: readonly string[] = syntheticSegClasses(5);
/** Pseudo masks written: a quarter of each is ignored (255). */
export const SEG_POOL = 3;

/** Val metrics with per-class IoU, and the same on tune. */
function metrics(mIoU: number): Record<string, number> {
  const out: Record<string, number> = {
    mIoU,
    pixelAccuracy: 0.9 + mIoU / 10,
  };
  SEG_CLASS_NAMES.forEach((n, k) => out[`IoU/${n}`] = k ? mIoU - 0.05 : 0.95);
  for (const [k, v] of Object.entries({ ...out })) out[`tune/${k}`] = v + 0.01;
  return out;
}

/** Teacher (= baseline) and student val mIoU. */
export const SEG_MIOU = { teacher: 0.4, student: 0.45 } as const;

function events(steps: number): RunEvent[] {
  const list = [
    runStartEvent("pascal-selftrain", `runs/${SEG_RUN}`, "native"),
  ];
  for (const phase of ["teacher", "label", "student"]) {
    const label = phase === "label";
    if (label) {
      list.push({
        type: "phase-start",
        phase,
        total: SEG_POOL,
        unit: "images",
      });
    } else list.push(...trainingEvents(phase, steps));
    const m = label ? {} : metrics(SEG_MIOU[phase as "teacher" | "student"]);
    list.push({ type: "phase-end", phase, metrics: m, skipped: false });
  }
  list.push({ type: "run-end", recipe: "pascal-selftrain", seconds: 95 });
  return list;
}

/** Writes the run under `<runs>/seg` (data cached in `cache`); returns its folder. */
export async function writeSegRun(
  runs: string,
  cache: string,
): Promise<string> {
  const run = join(runs, SEG_RUN);
  const root = await tinySegSet(cache, {
    train: 4,
    tune: 2,
    val: 2,
    unlabeled: SEG_POOL,
  });
  const open = async (split: string) =>
    await SegmentationDataset.open(await vocEntries(root, split), {
      inputSize: SEG_SIZE,
      onError: "fail",
      classNames: SEG_CLASS_NAMES,
    });
  const human = await open("train");
  const pool = await open("unlabeled");
  // Pseudo masks: the top quarter ignored, the rest the image's true mask.
  const labels = join(run, "labels");
  await Deno.mkdir(join(labels, "masks"), { recursive: true });
  await Deno.mkdir(join(run, "samples"), { recursive: true });
  const store = await PseudoLabelStore.open(labels, {
    categories: SEG_CLASS_NAMES.map((name, id) => ({ id, name })),
  });
  for (let i = 0; i < pool.size; i++) {
    const s = await pool.get(i);
    const mask = (await pool.sourceMask(s.id)).slice();
    mask.fill(IGNORE_LABEL, 0, SEG_SIZE * SEG_SIZE / 4);
    const file = `masks/${s.id}.png`;
    await writeFileAtomic(
      join(labels, file),
      encodeMaskPng({ data: mask, width: SEG_SIZE, height: SEG_SIZE }),
    );
    await store.add({
      image: { id: s.id, file_name: file, width: SEG_SIZE, height: SEG_SIZE },
      annotations: [],
    });
    await writeImage(
      join(run, "samples", `pseudo_${s.id}.jpg`),
      overlayMask({ ...s, mask }),
    );
    if (i === 0) {
      for (const p of ["teacher", "student"]) {
        await writeImage(
          join(run, "samples", `${p}_${s.id}.jpg`),
          overlayMask(s),
        );
      }
    }
  }
  await store.finalize();
  await store.close();
  await Deno.writeTextFile(
    join(run, "config.json"),
    JSON.stringify({
      recipe: "pascal-selftrain",
      seed: 0,
      config: { pseudo: { threshold: 0.5 } },
    }),
  );
  await Deno.writeTextFile(
    join(run, "events.jsonl"),
    events(5).map((e) => JSON.stringify(e)).join("\n") + "\n",
  );
  const teacher = { metrics: metrics(SEG_MIOU.teacher), steps: 5 };
  const report = await writeSegSelfTrainReport(run, {
    recipe: "pascal-selftrain",
    seed: 0,
    backend: "native",
    init: { init: "random", overrides: {}, freezeAt: -1 },
    teacher,
    baseline: {
      ...teacher,
      init: "random",
      reusedTeacher: true,
      humanPerStep: 8,
    },
    student: {
      metrics: metrics(SEG_MIOU.student),
      steps: 5,
      humanPerStep: 8,
      pseudoPerStep: 8,
    },
    labelsDir: labels,
    pseudo: { threshold: 0.5, tta: false },
    human,
    seconds: 95,
  });
  await Deno.writeTextFile(join(run, "report.json"), JSON.stringify(report));
  return run;
}
