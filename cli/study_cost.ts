/**
 * Wall-time estimates of study jobs from their resolved configs, so that
 * `deno task study` prints what a grid will cost before it starts and the
 * `cpu` preset can size its steps to a budget. The constants are seconds on
 * the 2-core machine the defaults were measured on (`native`, two threads,
 * one run alone): `coco-supervised` at 1600 steps of 8 images about 270 s,
 * `coco-selftrain` at its defaults 555 s alone and 735 s beside another
 * run (README); `pascal-selftrain` at its defaults 623 s with two
 * threads (teacher 1600 × 8 and student 1600 × 16 images at 64
 * px, 800 labelled; docs/selftraining.md), about 0.014 s per training
 * image. The runner rescales the remaining estimate by the
 * measured/estimated ratio of the jobs it has run.
 */
import type { ConfigObject } from "../core/config.ts";
import type { Registry } from "../core/registry.ts";
import { resolveConfig } from "../core/runner.ts";
import type { StudyJob } from "../study/mod.ts";
import {
  type CocoSelfTrainConfig,
  teacherIsBaseline as cocoTeacherIsBaseline,
} from "../recipes/coco_selftrain.ts";
import {
  type PascalSelfTrainConfig,
  teacherIsBaseline as pascalTeacherIsBaseline,
} from "../recipes/pascal_selftrain.ts";
import {
  type BaselineBatch,
  composition,
  type StudentSection,
} from "../recipes/mixed_training.ts";

/** Seconds per training image of each task at its reference input size. */
const PER_IMAGE = { detection: 0.02, segmentation: 0.014 } as const;
/** Reference input sizes of `PER_IMAGE`. */
const REF_SIZE = { detection: 128, segmentation: 64 } as const;
/** Start-up, data loading and evaluation of one run. */
const FIXED = 15;
/** Teacher inference per unlabelled image (labelling). */
const PER_LABEL = { detection: 0.01, segmentation: 0.0125 } as const;
/**
 * Student images cost this share of a teacher image: detection students
 * train on batches twice the teacher's, which run more efficiently (555 s
 * for both phases of the defaults); segmentation's not measured apart.
 */
const STUDENT_SHARE = { detection: 0.55, segmentation: 1 } as const;
/** Unknown recipes: a guess. */
const UNKNOWN_JOB = 600;
/**
 * Pre-training at its defaults, alone on 2 cores: side by side with another
 * job `pretrain-supervised` took 6.0–6.6 min and `pretrain-simclr` 9.8 min
 * (the cpu study's own runs), divided by the shared-core slowdown.
 */
const PRETRAIN_SECONDS: Record<string, number> = {
  "pretrain-supervised": 290,
  "pretrain-simclr": 450,
};
/** One run of a pair side by side on one core each, against one alone on two (735 / 555 s, README). */
const SHARED_CORE_SLOWDOWN = 1.32;

type Section = Record<string, number | string | boolean>;

function section(c: ConfigObject, key: string): Section {
  return (c[key] ?? {}) as Section;
}

function trainSeconds(
  t: Section,
  perImage: number,
  scale: number,
): number {
  return Number(t.steps ?? 0) * Number(t.batchSize ?? 0) * perImage * scale;
}

/** Estimated wall seconds of `job` alone on 2 cores. */
export function estimateJobSeconds(registry: Registry, job: StudyJob): number {
  if (!registry.has("recipe", job.recipe)) return UNKNOWN_JOB;
  if (job.recipe in PRETRAIN_SECONDS) return PRETRAIN_SECONDS[job.recipe];
  const c = resolveConfig(registry, job.recipe, job.overrides);
  const task = job.recipe.startsWith("coco-")
    ? "detection"
    : job.recipe.startsWith("pascal-")
    ? "segmentation"
    : null;
  if (!task) return UNKNOWN_JOB;
  const data = section(c, "data");
  const size = Number(data.inputSize ?? REF_SIZE[task]) / REF_SIZE[task];
  const per = PER_IMAGE[task];
  const scale = size * size;
  if (job.recipe.endsWith("-supervised")) {
    return FIXED + trainSeconds(section(c, "train"), per, scale);
  }
  const teacher = section(c, "teacher");
  const student = section(c, "student");
  const pool = task === "detection" ? 1500 : 800;
  let sec = 2 * FIXED + pool * PER_LABEL[task] * scale +
    trainSeconds(teacher, per, scale);
  sec += trainSeconds(student, per * STUDENT_SHARE[task], scale);
  // The baseline trains unless the teacher already is it (each recipe's
  // own rule), on the student's human images (`baselineBatch`).
  const reused = task === "detection"
    ? cocoTeacherIsBaseline(c as unknown as CocoSelfTrainConfig)
    : pascalTeacherIsBaseline(c as unknown as PascalSelfTrainConfig);
  if (!reused) {
    const s = student as unknown as StudentSection;
    const human = composition(s, false, c.baselineBatch as BaselineBatch)
      .humanPerStep;
    sec += trainSeconds(student, per * human / s.batchSize, scale);
  }
  return sec;
}

/** The estimate for `jobs` runs at once on 2 cores (each on fewer threads). */
export function parallelSlowdown(jobs: number): number {
  return jobs > 1 ? SHARED_CORE_SLOWDOWN : 1;
}
