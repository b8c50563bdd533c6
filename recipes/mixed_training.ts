/**
 * The two phases of `coco-selftrain` that train on mixed batches: the
 * student (human + pseudo images in every batch, each half's loss combined
 * by the normalisation of SPEC §2) and its compute-matched supervised
 * baseline (SPEC §9): the same initialisation, steps, schedule,
 * augmentation and batch size, every image human-labelled. Only the
 * pseudo-labels differ, so Δ(student − baseline) is what they bring.
 */
import type { SampleRef } from "../core/data/loader.ts";
import type { TaskModel } from "../core/model.ts";
import type { DataSplits, RecipeContext } from "../core/registry.ts";
import { MixedBatchSampler } from "../selftrain/mixing.ts";
import type { Augmenter } from "../core/contracts.ts";
import type { Dataset } from "../core/types.ts";
import { type PhaseLoss, trainPhase } from "./train_phase.ts";
import { evaluateDetector } from "./detection.ts";
import * as tf from "@tensorflow/tfjs-core";
import { type PseudoTargetHook, studentLoss } from "./student_loss.ts";
import type { TrainSection } from "./train_config.ts";
import type { SelfTrainPhases } from "./report.ts";

/** Student settings on top of a train section. */
export interface StudentSection extends TrainSection {
  /** `random` (paper) or `teacher` initialisation. */
  init: string;
  /** human:pseudo images per batch. */
  mixRatio: string;
  /** Loss normalisation (Appendix B) on or off (ablation). */
  normalize: boolean;
  /** Weight α of the pseudo loss. */
  alpha: number;
  /** EMA decay of the loss moving averages. */
  normDecay: number;
  /** Momentum of the positive-anchor count normalising each half's loss (0 = per batch). */
  positivesMomentum: number;
}

/** Images per step of a mixed phase. */
export interface BatchComposition {
  /** Human-labelled images per step. */
  humanPerStep: number;
  /** Pseudo-labelled images per step. */
  pseudoPerStep: number;
}

/** Inputs of `trainMixedPhase`. */
export interface MixedPhaseInputs {
  /** Recipe context. */
  ctx: RecipeContext<{ seed: number }>;
  /** `student` or `baseline`. */
  phase: string;
  /** The model, already initialised. */
  model: TaskModel;
  /** Student settings (the baseline uses them too). */
  student: StudentSection;
  /** Data splits (train = human labels; val/tune for evaluation). */
  splits: DataSplits;
  /** Pseudo-labelled pool; null trains on human labels only (the baseline). */
  pseudo: Dataset | null;
  /** The student's augmentation. */
  augment: Augmenter;
  /** Seed of the batch order (the same for student and baseline). */
  seed: number;
  /** The phase folder. */
  dir: string;
  /** The baseline's human images per step (see `composition`). */
  baselineBatch?: BaselineBatch;
  /**
   * Soft pseudo-labels: the teacher whose per-anchor class probabilities,
   * sharpened by `temperature`, are the pseudo half's class targets.
   */
  softTeacher?: { model: TaskModel; temperature: number };
}

/**
 * The pseudo half's class targets from the teacher's per-anchor logits on
 * the same (augmented) images: `sigmoid(logit / T)`, which is
 * `p^(1/T) / (p^(1/T) + (1 − p)^(1/T))`. Box targets stay those of the hard
 * pseudo boxes.
 */
export function softTargetHook(
  teacher: TaskModel,
  temperature: number,
): PseudoTargetHook {
  if (!(temperature > 0)) {
    throw new Error(`pseudo.temperature must be > 0, got ${temperature}`);
  }
  return (images, targets) => {
    const out = teacher.forward(images, { training: false }) as {
      cls?: tf.Tensor;
    };
    if (!(out.cls instanceof tf.Tensor) || out.cls.rank !== 3) {
      throw new Error(
        "soft pseudo-labels need a head with per-anchor class logits (cls: N x anchors x classes)",
      );
    }
    // No gradient reaches the teacher: only the student's variables are
    // differentiated, and the images are not among them.
    return {
      ...(targets as Record<string, tf.Tensor>),
      soft: tf.sigmoid(tf.div(out.cls, temperature)),
    };
  };
}

/**
 * How many human images the baseline sees per step: `human`, as many as the
 * student's human half (the very same human batches, without the pseudo
 * half), or `full`, the student's whole batch size, all human.
 */
export type BaselineBatch = "human" | "full";

/** The batch settings of a student section (detection or segmentation). */
export type MixSettings = Pick<TrainSection, "batchSize"> & {
  /** human:pseudo images per batch. */
  mixRatio: string;
};

/** Batch composition of the student (`pseudo` true) or of the baseline. */
export function composition(
  s: MixSettings,
  pseudo: boolean,
  baselineBatch: BaselineBatch = "human",
): BatchComposition {
  const sampler = new MixedBatchSampler({
    humanSize: 1,
    pseudoSize: 1,
    batchSize: s.batchSize,
    ratio: s.mixRatio,
    seed: 0,
  });
  if (!pseudo) {
    return {
      humanPerStep: baselineBatch === "full"
        ? s.batchSize
        : sampler.humanPerBatch,
      pseudoPerStep: 0,
    };
  }
  return {
    humanPerStep: sampler.humanPerBatch,
    pseudoPerStep: sampler.pseudoPerBatch,
  };
}

/**
 * The teacher, baseline and student entries of a self-training report
 * from their `metrics`: steps, batch composition, the baseline's
 * initialisation (`teacher`, `random` or `pre-trained`) and whether the
 * teacher is that baseline (`reusedTeacher`).
 */
export function phaseOutcomes(
  c: {
    teacher: { steps: number };
    student: MixSettings & { steps: number; init: string };
    model: { init: string };
    baselineBatch: string;
  },
  metrics: Record<"teacher" | "baseline" | "student", Record<string, number>>,
  reusedTeacher: boolean,
): Pick<SelfTrainPhases, "teacher" | "baseline" | "student"> {
  return {
    teacher: { metrics: metrics.teacher, steps: c.teacher.steps },
    baseline: {
      metrics: metrics.baseline,
      steps: c.student.steps,
      init: c.student.init === "teacher"
        ? "teacher"
        : c.model.init === "random"
        ? "random"
        : "pre-trained",
      reusedTeacher,
      ...composition(c.student, false, c.baselineBatch as BaselineBatch),
    },
    student: {
      metrics: metrics.student,
      steps: c.student.steps,
      ...composition(c.student, true),
    },
  };
}

/**
 * The batches of the student (`pseudo` set: human images first, then
 * pseudo ones, by `s.mixRatio`) or of its baseline (`pseudo` null: the
 * student's human stream alone, `composition(s, false, baselineBatch)`
 * images per step). The sampler draws each source independently of the
 * other, so the baseline sees the very human images the student sees.
 */
export function mixedPlan(
  human: Dataset,
  pseudo: Dataset | null,
  s: MixSettings,
  seed: number,
  baselineBatch: BaselineBatch = "human",
): { sampler: MixedBatchSampler; plan: (step: number) => SampleRef[] } {
  const sampler = new MixedBatchSampler({
    humanSize: human.size,
    pseudoSize: pseudo?.size ?? 0,
    batchSize: pseudo
      ? s.batchSize
      : composition(s, false, baselineBatch).humanPerStep,
    ratio: pseudo ? s.mixRatio : "1:0",
    seed,
  });
  const sources: Record<"human" | "pseudo", Dataset | null> = {
    human,
    pseudo,
  };
  const plan = (step: number): SampleRef[] =>
    sampler.batch(step).map((e) => ({
      dataset: sources[e.source]!,
      index: e.index,
      seed: e.seed,
    }));
  return { sampler, plan };
}

/**
 * True when the teacher already is the student's compute-matched baseline:
 * the student starts from the teacher's initialisation (`student.init`
 * other than `teacher`: `model.init`, random weights or a pre-trained
 * backbone, never the teacher's weights) and is trained exactly as the
 * teacher was (every training key but the batch size equal, the same
 * augmentation), and the baseline's all-human batches are the teacher's
 * batch size.
 */
export function trainedAsTeacher(
  teacher: TrainSection & { augment: string },
  student: TrainSection & { init: string; mixRatio: string },
  studentAugment: string,
  baselineBatch: BaselineBatch,
): boolean {
  if (student.init === "teacher" || studentAugment !== teacher.augment) {
    return false;
  }
  const batch = composition(student, false, baselineBatch).humanPerStep;
  return Object.keys(teacher).every((k) =>
    k === "augment" || k === "batchSize" || teacher[k] === student[k]
  ) && batch === teacher.batchSize;
}

/** Trains and evaluates the student or the baseline. */
export async function trainMixedPhase(
  m: MixedPhaseInputs,
): Promise<Record<string, number>> {
  const { ctx, model, student: s, splits, pseudo } = m;
  const detectionLoss = (momentum: number) =>
    ctx.registry.create("loss", "retinanet-loss", {
      normalizerMomentum: momentum,
    });
  const { sampler, plan } = mixedPlan(
    splits.train,
    pseudo,
    s,
    m.seed,
    m.baselineBatch,
  );
  let loss: PhaseLoss;
  if (pseudo && sampler.pseudoPerBatch > 0) {
    loss = studentLoss(
      model,
      sampler.humanPerBatch,
      {
        alpha: s.alpha,
        decay: s.normDecay,
        enabled: s.normalize,
      },
      {
        human: detectionLoss(s.positivesMomentum),
        pseudo: detectionLoss(s.positivesMomentum),
      },
      m.softTeacher &&
        softTargetHook(m.softTeacher.model, m.softTeacher.temperature),
    );
  } else {
    const whole = detectionLoss(s.positivesMomentum);
    loss = {
      fn: (batch, fc) =>
        whole.compute(
          model.forward(batch.images, fc),
          model.head.encodeTargets(batch.samples),
        ),
      state: whole.state,
    };
  }
  await trainPhase(ctx, m.phase, model, s, {
    dir: m.dir,
    augment: m.augment,
    plan,
    data: splits.train,
    loss,
  });
  return await evaluateDetector(model, splits, m.dir, ctx.events, m.phase);
}
