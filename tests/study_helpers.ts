/**
 * Shared pieces of the study tests: small grids, and a job runner that
 * writes the report.json a recipe would (with a value chosen by the test)
 * instead of training, recording which jobs it ran.
 */
import { writeJsonAtomic } from "../core/fs.ts";
import type {
  JobRunner,
  StudyCell,
  StudyGrid,
  StudyJob,
  TaskGrid,
} from "../study/mod.ts";

/** A detection task grid with the given axes and no overrides. */
export function detTask(
  axes: Partial<TaskGrid> = {},
): TaskGrid {
  return {
    inits: ["random"],
    methods: ["supervised", "self-training"],
    augments: ["S1", "S4"],
    fractions: [0.5, 1],
    overrides: {},
    ...axes,
  };
}

/** A grid over detection (and optionally segmentation) with `seeds`. */
export function smallGrid(
  seeds: number[] = [0, 1],
  tasks: StudyGrid["tasks"] = { detection: detTask() },
  design: StudyGrid["design"] = "full",
): StudyGrid {
  return { name: "test", seeds, design, tasks };
}

/**
 * Seeds 0 and 1 of detection from random init, supervised and
 * self-training, S1 and S4, all labels: 8 cells, one table by augmentation.
 */
export const AUGMENT_GRID: StudyGrid = smallGrid([0, 1], {
  detection: detTask({ augments: ["S1", "S4"], fractions: [1] }),
});

/** The headline metric of each cell recipe's report. */
const FAKE_METRIC: Readonly<Record<string, string>> = {
  "coco-supervised": "AP",
  "coco-selftrain": "AP",
  "pascal-supervised": "mIoU",
  "pascal-selftrain": "mIoU",
};

/** The report.json a recipe writes, with headline `value` and baseline `baseline` (fractions). */
export function fakeReport(
  job: StudyJob,
  value: number,
  baseline = value,
): Record<string, unknown> {
  const metric = FAKE_METRIC[job.recipe];
  if (!metric) return { recipe: job.recipe };
  const metrics = { [metric]: value, [`tune/${metric}`]: value };
  if (!job.recipe.endsWith("-selftrain")) {
    return { recipe: job.recipe, metrics };
  }
  return {
    recipe: job.recipe,
    teacher: { metrics: { [metric]: baseline } },
    baseline: { metrics: { [metric]: baseline } },
    student: { metrics },
  };
}

/** The cell counts of a study whose `done` and `failed` cells all ended. */
export function endedCounts(
  done: number,
  failed: number,
): Record<string, number> {
  return { done, failed, started: 0, pending: 0, total: done + failed };
}

/** A fake runner: `values(cell)` gives [value, baseline]; records the ids it ran. */
export function fakeRunner(
  values: (cell: StudyCell) => [number, number] = () => [0.3, 0.3],
  fail: (job: StudyJob) => boolean = () => false,
): { run: JobRunner; ran: string[]; outs: string[] } {
  const ran: string[] = [];
  const outs: string[] = [];
  const run: JobRunner = async (job, out) => {
    ran.push(job.id);
    outs.push(out);
    if (fail(job)) throw new Error(`boom in ${job.id}\nsecond line`);
    if (job.stage === "pretrain") {
      await Deno.mkdir(`${out}/backbone`, { recursive: true });
      await writeJsonAtomic(`${out}/report.json`, { recipe: job.recipe });
      return;
    }
    const [v, b] = values(job as StudyCell);
    await writeJsonAtomic(`${out}/report.json`, fakeReport(job, v, b));
  };
  return { run, ran, outs };
}

/** A fresh temporary study folder. */
export function tempStudyDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "study_" });
}
