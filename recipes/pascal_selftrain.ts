/**
 * `pascal-selftrain`: self-training for segmentation (SPEC §2, §7, §9).
 *
 * 1. teacher: DeepLabv3+ on human masks, evaluated on tune and val;
 * 2. label: hard pseudo masks (argmax, top probability < threshold → 255),
 *    optionally from a multi-scale + flip teacher, journaled (resumable);
 * 3. student: human + pseudo masks in every batch with the loss
 *    normalisation of Appendix B; by default a fresh model trained as the
 *    teacher was (the paper's protocol);
 * 4. baseline: the compute-matched supervised run (SPEC §9): the student's
 *    initialisation, steps, schedule and augmentation on the student's
 *    human images only; the teacher itself when the student is trained
 *    exactly as the teacher (`teacherIsBaseline`);
 * 5. report: Δ student − baseline (the headline) and student − teacher,
 *    per-class IoU, pseudo-mask statistics (`seg_report.ts`), overlays in
 *    `samples/`. Every model is evaluated on val and tune (`tune/...`).
 */
import { exists, writeJsonAtomic } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import { loadModelWeights, modelOnDemand, runPhase } from "./phase.ts";
import type { Recipe } from "../core/registry.ts";
import { PseudoLabelStore } from "../selftrain/pseudo_store.ts";
import type { Dataset } from "../core/types.ts";
import { overlayMask } from "../plugins/augment/preview.ts";
import type { SegmentationDataset } from "../plugins/voc/mod.ts";
import { writeImage } from "../image/codec.ts";
import { writeClassNames } from "./detection.ts";
import { trainPhase } from "./train_phase.ts";
import { prepareInit } from "./backbone_init.ts";
import {
  type BaselineBatch,
  mixedPlan,
  phaseOutcomes,
  trainedAsTeacher,
} from "./mixed_training.ts";
import { CPU_SEG_TRAIN, SEG_COMMON_HELP } from "./pascal_supervised.ts";
import {
  buildSegmenter,
  CPU_SEGMENTER,
  createSegAugmenter,
  evaluateSegSplits,
  loadSegData,
  SEG_COMMON_CHOICES,
  SEG_DATA_DEFAULTS,
  type SegDataSection,
  type SegModelSection,
} from "./segmentation.ts";
import {
  labelSegPool,
  PseudoSegDataset,
  type SegPseudoSection,
} from "./seg_labeling.ts";
import { writeSegSelfTrainReport } from "./seg_report.ts";
import { studentLoss } from "./student_loss.ts";
import {
  prefixKeys,
  TRAIN_CHOICES,
  TRAIN_HELP,
  type TrainSection,
} from "./train_config.ts";
import { MODEL_PLUGINS } from "./model_config.ts";

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
  /** Baseline's human images per step: `human` (the student's human half) or `full` (its whole batch). */
  baselineBatch: string;
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

/**
 * The paper's protocol, chosen on tune (docs/selftraining.md): a fresh
 * model trained as long as the teacher, on 8 human + 8 pseudo images per
 * step; the teacher then is its compute-matched baseline (same init, steps,
 * schedule, augmentation and human batch). Fine-tuning the teacher instead
 * did worse against its baseline on tune.
 */
const STUDENT_DEFAULTS: SegStudentSection = {
  ...CPU_SEG_TRAIN,
  batchSize: 16,
  init: "random",
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
    baselineBatch: "human",
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
    baselineBatch:
      "compute-matched baseline's images per step, all human: human (the student's human half, the same batches without the pseudo half) or full (the student's whole batch size)",
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
    baselineBatch: ["human", "full"],
    ...SEG_COMMON_CHOICES,
    "student.init": ["random", "teacher"],
    ...prefixKeys("teacher", TRAIN_CHOICES),
    ...prefixKeys("student", TRAIN_CHOICES),
  },
  plugins: MODEL_PLUGINS,
  async run(ctx) {
    const { config: c, registry, events, out } = ctx;
    const started = performance.now();
    const splits = await loadSegData(registry, c.data, c.seed);
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
    const evaluate = (model: TaskModel, phase: string) =>
      evaluateSegSplits(model, splits, samples, phase, events);

    // 1. Teacher.
    const teacher = modelOnDemand(
      () => build(c.seed),
      `${out}/teacher/checkpoints`,
    );
    const teacherPhase = await runPhase(out, "teacher", events, async (dir) => {
      const model = await teacher.fresh();
      await trainPhase(ctx, "teacher", model, c.teacher, {
        dir,
        augment: createSegAugmenter(registry, c.teacher.augment, c.data),
        data: splits.train,
      });
      return await evaluate(model, "teacher");
    }, { total: c.teacher.steps, unit: "steps" });
    if (c.phase === "teacher") {
      teacher.dispose();
      return {
        recipe: "pascal-selftrain",
        phase: "teacher",
        teacher: { metrics: teacherPhase.metrics },
      };
    }

    // 2. Pseudo masks (the store's COCO file exists once every image is journaled).
    const labelsDir = `${out}/labels`;
    const labelled = await exists(PseudoLabelStore.cocoPathFor(labelsDir));
    const labelStats = labelled ? null : await labelSegPool(
      ctx,
      await teacher.trained(),
      splits.unlabeled,
      c.pseudo,
    );
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

    // 3. Student and 4. its compute-matched baseline: the same init, steps,
    // schedule and augmentation; the baseline's batches are the student's
    // human images alone (or its whole batch size, all human). When the
    // student is trained exactly as the teacher, the teacher is that
    // baseline and nothing more is trained.
    const baselineBatch = c.baselineBatch as BaselineBatch;
    const augment = createSegAugmenter(registry, c.student.augment, c.data);
    // The model is built inside the phase: a finished phase is skipped
    // without it (a resumed study cell).
    const runMixed = async (name: "student" | "baseline") => {
      const { sampler, plan } = mixedPlan(
        splits.train,
        name === "student" ? pseudo : null,
        c.student,
        c.seed,
        baselineBatch,
      );
      const phase = await runPhase(out, name, events, async (dir) => {
        const model = await build(c.seed + 1);
        if (c.student.init === "teacher") {
          await loadModelWeights(model, `${out}/teacher/checkpoints`);
        }
        try {
          await trainPhase(ctx, name, model, c.student, {
            dir,
            augment,
            data: splits.train,
            plan,
            ...(name === "student"
              ? {
                loss: studentLoss(model, sampler.humanPerBatch, {
                  alpha: c.student.alpha,
                  decay: c.student.normDecay,
                  enabled: c.student.normalize,
                }),
              }
              : {}),
          });
          return await evaluate(model, name);
        } finally {
          model.dispose();
        }
      }, { total: c.student.steps, unit: "steps" });
      return phase.metrics;
    };
    const student = await runMixed("student");
    const reusedTeacher = teacherIsBaseline(c);
    const baseline = reusedTeacher
      ? teacherPhase.metrics
      : await runMixed("baseline");
    return await writeSegSelfTrainReport(out, {
      recipe: "pascal-selftrain",
      seed: c.seed,
      backend: ctx.backend.name,
      init: init.record,
      ...phaseOutcomes(
        c,
        { teacher: teacherPhase.metrics, baseline, student },
        reusedTeacher,
      ),
      labelsDir,
      pseudo: { threshold: c.pseudo.threshold, tta: c.pseudo.tta },
      human: splits.train as SegmentationDataset,
      seconds: (performance.now() - started) / 1000,
    });
  },
};

/**
 * True when the teacher already is the student's compute-matched baseline
 * (a student from `model.init`, not the teacher's weights, trained exactly
 * as the teacher; see `trainedAsTeacher`, the rule `coco-selftrain` uses
 * too).
 */
export function teacherIsBaseline(c: PascalSelfTrainConfig): boolean {
  return trainedAsTeacher(
    c.teacher,
    c.student,
    c.student.augment,
    c.baselineBatch as BaselineBatch,
  );
}

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
