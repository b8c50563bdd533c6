/**
 * `pascal-selftrain`: self-training for segmentation (SPEC §2, §7, §9).
 *
 * 1. teacher: DeepLabv3+ on human masks, evaluated on tune and val;
 * 2. label: hard pseudo masks (argmax, top probability < threshold → 255),
 *    optionally from a multi-scale + flip teacher, journaled (resumable);
 * 3. student: human + pseudo masks in every batch with the loss
 *    normalisation of Appendix B, from the teacher's weights by default;
 * 4. baseline: compute-matched supervised run — same initialisation, steps,
 *    schedule and batch as the student, every image human-labelled;
 * 5. report: Δ student − baseline (the headline) and student − teacher,
 *    `report.json`, `report.md`, overlays in `samples/`.
 */
import type { SampleRef } from "../core/data/loader.ts";
import { exists, writeFileAtomic, writeJsonAtomic } from "../core/fs.ts";
import { runPhase } from "./phase.ts";
import type { Recipe } from "../core/registry.ts";
import { MixedBatchSampler } from "../selftrain/mixing.ts";
import { PseudoLabelStore } from "../selftrain/pseudo_store.ts";
import { loadModelWeights } from "./phase.ts";
import type { Dataset } from "../core/types.ts";
import { overlayMask } from "../plugins/augment/preview.ts";
import { writeImage } from "../image/codec.ts";
import { writeClassNames } from "./detection.ts";
import { trainPhase } from "./train_phase.ts";
import { describeInit, type InitRecord, prepareInit } from "./backbone_init.ts";
import {
  CPU_SEG_TRAIN,
  evaluateSplits,
  SEG_COMMON_HELP,
} from "./pascal_supervised.ts";
import {
  buildSegmenter,
  CPU_SEGMENTER,
  createSegAugmenter,
  loadSegData,
  SEG_COMMON_CHOICES,
  SEG_DATA_DEFAULTS,
  SEG_PLUGINS,
  type SegDataSection,
  type SegModelSection,
} from "./segmentation.ts";
import {
  labelSegPool,
  PseudoSegDataset,
  type SegPseudoSection,
} from "./seg_labeling.ts";
import { studentLoss } from "./student_loss.ts";
import {
  prefixKeys,
  TRAIN_CHOICES,
  TRAIN_HELP,
  type TrainSection,
} from "./train_config.ts";

/** Student settings. */
export interface SegStudentSection extends TrainSection {
  /** `teacher` (fine-tune the teacher) or `random`. */
  init: string;
  /** human:pseudo images per batch. */
  mixRatio: string;
  /** Loss normalisation on or off. */
  normalize: boolean;
  /** Weight α of the pseudo loss. */
  alpha: number;
  /** EMA decay of the loss averages. */
  normDecay: number;
  /** Student augmentation (usually stronger than the teacher's). */
  augment: string;
}

/** Config of `pascal-selftrain`. */
export interface PascalSelfTrainConfig {
  [key: string]:
    | string
    | number
    | SegDataSection
    | SegModelSection
    | TrainSection
    | SegPseudoSection;
  /** Seed. */
  seed: number;
  /** `all`, or one phase: `teacher`, `label`. */
  phase: string;
  /** Data. */
  data: SegDataSection;
  /** Model (teacher, student and baseline share it). */
  model: SegModelSection;
  /** Teacher training; its augmentation is `teacher.augment`. */
  teacher: TrainSection & { augment: string };
  /** Pseudo-labelling. */
  pseudo: SegPseudoSection;
  /** Student training (the baseline copies it, human images only). */
  student: SegStudentSection;
}

const STUDENT_DEFAULTS: SegStudentSection = {
  ...CPU_SEG_TRAIN,
  steps: 300,
  lr: 0.02,
  warmupSteps: 0,
  init: "teacher",
  mixRatio: "1:1",
  normalize: true,
  alpha: 1,
  normDecay: 0.99,
  augment: "S1",
};

/** The recipe. */
export const pascalSelfTrainRecipe: Recipe<PascalSelfTrainConfig> = {
  name: "pascal-selftrain",
  description:
    "teacher -> pseudo masks -> student, with a compute-matched supervised baseline (DeepLabv3+; built-in shapes by default)",
  defaults: {
    seed: 0,
    phase: "all",
    data: SEG_DATA_DEFAULTS,
    model: CPU_SEGMENTER,
    teacher: { ...CPU_SEG_TRAIN, augment: "S1" },
    pseudo: {
      labeler: "hard-seg",
      threshold: 0.5,
      tta: false,
      scales: [0.5, 0.75, 1, 1.25, 1.5, 1.75],
      batchSize: 16,
    },
    student: STUDENT_DEFAULTS,
  },
  help: {
    ...SEG_COMMON_HELP,
    phase: "all, or stop after one phase: teacher, label",
    ...prefixKeys("teacher", TRAIN_HELP),
    "teacher.augment": "teacher augmentation (S1..S4 or a plugin)",
    "pseudo.labeler":
      "labeler plugin (hard-seg: argmax, top probability < threshold -> 255)",
    "pseudo.threshold":
      "pixels whose top teacher probability is below this are ignored (paper: 0.5)",
    "pseudo.tta": "multi-scale + flip teacher (pseudo.scales)",
    "pseudo.scales": "TTA scales (paper: 0.5,0.75,1,1.25,1.5,1.75)",
    "pseudo.batchSize": "images per teacher batch (without TTA)",
    ...prefixKeys("student", TRAIN_HELP),
    "student.init":
      "teacher (fine-tune the teacher; the baseline continues it too) or random (model.init: random weights or its pre-trained backbone, fresh head)",
    "student.mixRatio": "human:pseudo images per batch (paper: 1:1)",
    "student.normalize":
      "loss normalisation of Appendix B; false for the ablation",
    "student.alpha": "weight a of the pseudo loss",
    "student.normDecay": "EMA decay of the moving loss averages",
    "student.augment": "student (and baseline) augmentation",
  },
  choices: {
    phase: ["all", "teacher", "label"],
    ...SEG_COMMON_CHOICES,
    "student.init": ["random", "teacher"],
    ...prefixKeys("teacher", TRAIN_CHOICES),
    ...prefixKeys("student", TRAIN_CHOICES),
  },
  plugins: SEG_PLUGINS,
  async run(ctx) {
    const { config: c, registry, events, out } = ctx;
    const started = performance.now();
    const splits = await loadSegData(registry, c.data);
    if (!splits.unlabeled || splits.unlabeled.size === 0) {
      throw new Error(
        "self-training needs unlabelled images: set data.unlabeledImages",
      );
    }
    const classes = splits.train.classNames.length;
    await writeClassNames(out, splits.train.classNames);
    const init = await prepareInit(registry, c.model, out, events);
    const build = (seed: number) =>
      init.apply(buildSegmenter(
        registry,
        c.model,
        classes,
        c.data.inputSize,
        seed,
        init.record.overrides,
      ));
    const samples = `${out}/samples`;

    // 1. Teacher.
    const teacher = await build(c.seed);
    const teacherPhase = await runPhase(out, "teacher", events, async (dir) => {
      await trainPhase(ctx, "teacher", teacher, c.teacher, {
        dir,
        augment: createSegAugmenter(registry, c.teacher.augment, c.data),
        data: splits.train,
      });
      return await evaluateSplits(teacher, splits, samples, "teacher");
    }, { total: c.teacher.steps, unit: "steps" });
    if (teacherPhase.skipped) {
      await loadModelWeights(teacher, `${out}/teacher/checkpoints`);
    }
    if (c.phase === "teacher") {
      teacher.dispose();
      return {
        recipe: "pascal-selftrain",
        phase: "teacher",
        teacher: teacherPhase.metrics,
      };
    }

    // 2. Pseudo masks (the store's COCO file exists once every image is journaled).
    const labelsDir = `${out}/labels`;
    const labelled = await exists(PseudoLabelStore.cocoPathFor(labelsDir));
    const labelStats = labelled
      ? null
      : await labelSegPool(ctx, teacher, splits.unlabeled, c.pseudo);
    if (labelStats) {
      await writeJsonAtomic(`${labelsDir}/stats.json`, labelStats);
    }
    teacher.dispose();
    if (c.phase === "label") {
      return {
        recipe: "pascal-selftrain",
        phase: "label",
        pseudo_labels: labelStats,
      };
    }
    const pseudo = await PseudoSegDataset.open(splits.unlabeled, labelsDir);
    await writePseudoOverlays(pseudo, samples);

    // 3. Student and 4. its compute-matched baseline: same init, steps,
    // schedule and batch; the baseline's batches are all human images.
    const sampler = new MixedBatchSampler({
      humanSize: splits.train.size,
      pseudoSize: pseudo.size,
      batchSize: c.student.batchSize,
      ratio: c.student.mixRatio,
      seed: c.seed,
    });
    const sources: Record<"human" | "pseudo", Dataset> = {
      human: splits.train,
      pseudo,
    };
    const augment = createSegAugmenter(registry, c.student.augment, c.data);
    const runStudent = async (name: "student" | "baseline") => {
      const model = await build(c.seed + 1);
      if (c.student.init === "teacher") {
        await loadModelWeights(model, `${out}/teacher/checkpoints`);
      }
      const phase = await runPhase(out, name, events, async (dir) => {
        const opts = name === "baseline" ? {} : {
          plan: (step: number): SampleRef[] =>
            sampler.batch(step).map((e) => ({
              dataset: sources[e.source],
              index: e.index,
              seed: e.seed,
            })),
          loss: studentLoss(model, sampler.humanPerBatch, {
            alpha: c.student.alpha,
            decay: c.student.normDecay,
            enabled: c.student.normalize,
          }),
        };
        await trainPhase(ctx, name, model, c.student, {
          dir,
          augment,
          data: splits.train,
          ...opts,
        });
        return await evaluateSplits(model, splits, samples, name);
      }, { total: c.student.steps, unit: "steps" });
      model.dispose();
      return phase.metrics;
    };
    const student = await runStudent("student");
    const baseline = await runStudent("baseline");
    return await writeSegReport(out, {
      recipe: "pascal-selftrain",
      seed: c.seed,
      backend: ctx.backend.name,
      init: init.record,
      teacher: teacherPhase.metrics,
      baseline,
      student,
      seconds: (performance.now() - started) / 1000,
    });
  },
};

/** Overlays of the first pseudo-labelled pool images. */
async function writePseudoOverlays(
  pseudo: Dataset,
  dir: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < Math.min(4, pseudo.size); i++) {
    const s = await pseudo.get(i);
    await writeImage(`${dir}/pseudo_${s.id}.jpg`, overlayMask(s));
  }
}

/** Writes `report.json` and `report.md` (Δ rows in mIoU points). */
async function writeSegReport(
  out: string,
  r: {
    recipe: string;
    seed: number;
    backend: string;
    init: InitRecord;
    teacher: Record<string, number>;
    baseline: Record<string, number>;
    student: Record<string, number>;
    seconds: number;
  },
): Promise<Record<string, unknown>> {
  const keys = Object.keys(r.student);
  const delta = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(keys.map((k) => [k, a[k] - b[k]]));
  const report = {
    ...r,
    delta_student_minus_baseline: delta(r.student, r.baseline),
    delta_student_minus_teacher: delta(r.student, r.teacher),
  };
  await writeJsonAtomic(`${out}/report.json`, report);
  const pct = (v: number) => (100 * v).toFixed(1);
  const row = (name: string, m: Record<string, number>) =>
    `| ${name} | ${keys.map((k) => pct(m[k])).join(" | ")} |`;
  const md = [
    `# ${r.recipe} (seed ${r.seed}, ${r.backend}, ${r.seconds.toFixed(0)} s)`,
    "",
    `Initialisation (teacher, student, baseline): ${describeInit(r.init)}`,
    "",
    `| run | ${keys.join(" | ")} |`,
    `| --- | ${keys.map(() => "---:").join(" | ")} |`,
    row("teacher", r.teacher),
    row("supervised baseline (compute-matched)", r.baseline),
    row("student", r.student),
    row("**Δ student − baseline**", report.delta_student_minus_baseline),
    row("Δ student − teacher", report.delta_student_minus_teacher),
    "",
    "Values in percent. Choose on tune, report val. Overlays: `samples/teacher_*`, `samples/student_*`, `samples/baseline_*`, `samples/pseudo_*`.",
    "",
  ].join("\n");
  await writeFileAtomic(`${out}/report.md`, md);
  return report;
}
