/**
 * The `cpu` preset: the built-in data, the paper's two sweeps
 * (augmentation S1–S4 at 100% of the labels, labelled fraction 20/50/100%
 * at S4; segmentation S1/S4 and 50/100%) over 2 seeds, 2 jobs at once,
 * sized to `CPU_BUDGET_SECONDS` by the estimates of `study_cost.ts`.
 * Detection's steps are cut last (the findings are about it first); when
 * pre-trained inits make the grid too big for the budget even at a
 * quarter of the steps, the grid shrinks by the shapes below, in order.
 */
import type { Registry } from "../core/registry.ts";
import { resolveConfig } from "../core/runner.ts";
import {
  enumerateStudy,
  type InitKind,
  type StudyGrid,
  type Task,
  type TaskGrid,
} from "../study/mod.ts";
import { estimateJobSeconds, parallelSlowdown } from "./study_cost.ts";
import { availableAxes, type StudyPreset } from "./study_preset_common.ts";

/** Wall-time budget of the `cpu` preset, with room under its 3 hours. */
export const CPU_BUDGET_SECONDS = 2.75 * 3600;

/** A smaller grid to fall back to, and what it leaves out. */
interface CpuShape {
  /** Detection's initialisations. */
  detInits: InitKind[];
  /** Detection's augmentation levels. */
  detAugments: string[];
  /** Detection's labelled fractions. */
  detFractions: number[];
  /** Pre-trained inits segmentation keeps. */
  segPretrained: InitKind[];
  /** What this shape drops, for the notes. */
  note: string;
}

const ALL_INITS: InitKind[] = ["random", "imagenet", "simclr"];
const PAPER_FRACTIONS = [0.2, 0.5, 1];
const S1_S4 = ["S1", "S4"];

const CPU_SHAPES: readonly CpuShape[] = [
  {
    detInits: ALL_INITS,
    detAugments: ["S1", "S2", "S3", "S4"],
    detFractions: PAPER_FRACTIONS,
    segPretrained: ["imagenet", "simclr"],
    note: "",
  },
  {
    detInits: ALL_INITS,
    detAugments: S1_S4,
    detFractions: PAPER_FRACTIONS,
    segPretrained: ["imagenet", "simclr"],
    note: "detection augmentation S1 and S4 only",
  },
  {
    detInits: ALL_INITS,
    detAugments: S1_S4,
    detFractions: PAPER_FRACTIONS,
    segPretrained: [],
    note:
      "detection augmentation S1 and S4 only; segmentation with random init only",
  },
  // At a quarter of the steps, S4's 0.5–2.0 jitter leaves a random-init
  // detector near 2 AP with 4 pseudo boxes on 1,500 images (a first cpu run), so
  // the grid loses cells before detection loses steps: SimCLR first (its
  // init measured within noise of random, README), then the 50% column.
  {
    detInits: ["random", "imagenet"],
    detAugments: S1_S4,
    detFractions: PAPER_FRACTIONS,
    segPretrained: [],
    note:
      "detection augmentation S1 and S4, random and supervised inits only; segmentation with random init only",
  },
  {
    detInits: ["random", "imagenet"],
    detAugments: S1_S4,
    detFractions: [0.2, 1],
    segPretrained: [],
    note:
      "detection augmentation S1 and S4, 20% and 100% of the labels, random and supervised inits only; segmentation with random init only",
  },
];

/** Steps of the cpu preset at scale 1: the recipes' defaults. */
const CPU_FULL_STEPS = {
  detection: { teacher: 1600, student: 1600 },
  segmentation: { teacher: 1600, student: 1600 },
} as const;

/** Step scale of each task in the cpu preset (1: the recipes' defaults). */
type TaskScales = Record<Task, number>;

/** The cpu grid with each task's step counts multiplied by its scale. */
function cpuGrid(
  registry: Registry,
  shape: CpuShape,
  scale: TaskScales,
  notes: string[],
): StudyGrid {
  const steps = (task: Task, n: number) =>
    String(Math.max(50, Math.round(n * scale[task] / 50) * 50));
  const d = CPU_FULL_STEPS.detection, s = CPU_FULL_STEPS.segmentation;
  const det = availableAxes(
    registry,
    "detection",
    shape.detInits,
    ["supervised", "self-training", "pretrain-self-training", "joint"],
    notes,
  );
  const seg = availableAxes(
    registry,
    "segmentation",
    ["random", ...shape.segPretrained],
    ["supervised", "self-training", "pretrain-self-training"],
    notes,
  );
  const detTask: TaskGrid = {
    ...det,
    augments: shape.detAugments,
    fractions: shape.detFractions,
    overrides: {
      "coco-supervised": { "train.steps": steps("detection", d.teacher) },
      "coco-selftrain": {
        "teacher.steps": steps("detection", d.teacher),
        "student.steps": steps("detection", d.student),
      },
    },
  };
  if (det.methods.includes("joint")) {
    // The recipe's own classification set; weight 1 sums the two losses (unconfirmed).
    const c = resolveConfig(registry, "coco-supervised");
    const joint = c.joint as Record<string, string>;
    detTask.joint = { weight: 1, dataset: String(joint.dataset) };
  }
  return {
    name: "cpu",
    seeds: [0, 1],
    design: "paper",
    tasks: {
      detection: detTask,
      segmentation: {
        ...seg,
        augments: ["S1", "S4"],
        fractions: [0.5, 1],
        overrides: {
          "pascal-supervised": {
            "train.steps": steps("segmentation", s.teacher),
          },
          "pascal-selftrain": {
            "teacher.steps": steps("segmentation", s.teacher),
            "student.steps": steps("segmentation", s.student),
          },
        },
      },
    },
  };
}

/** Estimated wall seconds of a whole grid with `jobs` at once on 2 cores. */
export function estimateGridSeconds(
  registry: Registry,
  grid: StudyGrid,
  jobs: number,
): number {
  const plan = enumerateStudy(grid, "study");
  const total = [...plan.pretrain, ...plan.cells].reduce(
    (a, j) => a + estimateJobSeconds(registry, j),
    0,
  );
  return total * parallelSlowdown(jobs) / jobs;
}

/** Step scales tried, largest first: 1, 0.95, …, 0.25. */
const SCALES: readonly number[] = Array.from(
  { length: 16 },
  (_, i) => Math.round((1 - 0.05 * i) * 100) / 100,
);

/** Detection keeps at least this share of its steps before the grid shrinks. */
const MIN_DETECTION_SCALE = 0.5;

/**
 * The first shape, and in it the largest detection scale (down to
 * `MIN_DETECTION_SCALE`, then segmentation's down to a quarter), whose
 * estimate fits `budget` seconds with two jobs at once; failing that, the
 * smallest shape with detection below that minimum too; failing that, the
 * smallest grid at a quarter of the steps, flagged as over budget.
 */
export function cpuPreset(
  registry: Registry,
  budget: number = CPU_BUDGET_SECONDS,
): StudyPreset {
  const jobs = 2;
  const floor = SCALES[SCALES.length - 1];
  const smallest = CPU_SHAPES[CPU_SHAPES.length - 1];
  const tries: [CpuShape, number][] = [
    ...CPU_SHAPES.flatMap((shape) =>
      SCALES.filter((d) => d >= MIN_DETECTION_SCALE).map((d) =>
        [shape, d] as [CpuShape, number]
      )
    ),
    ...SCALES.filter((d) => d < MIN_DETECTION_SCALE).map((d) =>
      [smallest, d] as [CpuShape, number]
    ),
  ];
  let pick: [CpuShape, TaskScales] = [
    smallest,
    { detection: floor, segmentation: floor },
  ];
  const fits = (shape: CpuShape, scale: TaskScales) =>
    estimateGridSeconds(registry, cpuGrid(registry, shape, scale, []), jobs) <=
      budget;
  search: for (const [shape, det] of tries) {
    // The estimate grows with segmentation's steps: if the fewest do not
    // fit, no more will (this saves most of the search's start-up time).
    if (!fits(shape, { detection: det, segmentation: floor })) continue;
    for (const seg of SCALES) {
      const scale = { detection: det, segmentation: seg };
      if (fits(shape, scale)) {
        pick = [shape, scale];
        break search;
      }
    }
  }
  const [shape, scale] = pick;
  const notes: string[] = [];
  const grid = cpuGrid(registry, shape, scale, notes);
  if (shape.note) notes.push(`to fit the budget: ${shape.note}`);
  const est = estimateGridSeconds(registry, grid, jobs);
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  notes.push(
    `steps at ${pct(scale.detection)} (detection) and ${
      pct(scale.segmentation)
    } (segmentation) of the recipes' defaults; estimate ${
      (est / 3600).toFixed(2)
    } h with ${jobs} jobs at once` +
      (est > budget
        ? ` — over the ${(budget / 3600).toFixed(2)} h budget`
        : ""),
  );
  return { grid, jobs, notes, cpuEstimates: true };
}
