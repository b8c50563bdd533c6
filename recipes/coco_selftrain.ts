/**
 * `coco-selftrain`: the paper's self-training loop for detection (SPEC §2).
 *
 * 1. teacher: RetinaNet on the labelled fraction, evaluated on val;
 * 2. label: hard pseudo-labels (score ≥ threshold after NMS) for the
 *    unlabelled pool, journaled so a killed run resumes, optionally one
 *    shard of the pool (`--phase label --shard I/N`, see docs/sharding.md);
 * 3. student: trained on human + pseudo labels in every batch (1:1 by
 *    default) with the loss normalisation of Appendix B and stronger
 *    augmentation, evaluated on val (and tune);
 * 4. baseline: the compute-matched supervised run (SPEC §9): the student's
 *    initialisation, steps, schedule, augmentation and batch size, every
 *    image human-labelled;
 * 5. report: Δ(student − baseline) as the headline, Δ(student − teacher)
 *    second, `report.json`, `report.md`, `curves.svg`.
 *
 * Each phase writes `<out>/<phase>/metrics.json` when done and is skipped
 * when re-run with the same `--out`.
 */
import { COCO_SELFTRAIN_HELP } from "./coco_selftrain_help.ts";
import { exists } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import { loadModelWeights, modelOnDemand, runPhase } from "./phase.ts";
import type { Recipe } from "../core/registry.ts";
import { NO_SHARD, parseShard, type ShardMode } from "../selftrain/shard.ts";
import { PseudoLabelStore } from "../selftrain/pseudo_store.ts";
import {
  AUG_DEFAULTS,
  type AugSection,
  buildDetector,
  createAugmenter,
  DETECTION_COMMON_CHOICES,
  DETECTION_DATA_DEFAULTS,
  type DetectionDataSection,
  type DetectorSection,
  evaluateDetector,
  loadDetectionData,
  writeClassNames,
} from "./detection.ts";
import { CPU_DETECTOR, CPU_DETECTOR_TRAIN } from "./coco_supervised.ts";
import {
  datasetCategories,
  labelCounts,
  labelPool,
  type PseudoSection,
} from "../selftrain/label_pool.ts";
import { PseudoLabeledDataset } from "../selftrain/pseudo_dataset.ts";
import { writeSelfTrainReport } from "./report.ts";
import { trainPhase } from "./train_phase.ts";
import {
  type BaselineBatch,
  phaseOutcomes,
  type StudentSection,
  trainedAsTeacher,
  trainMixedPhase,
} from "./mixed_training.ts";
import { withPhaseLock } from "../selftrain/run_lock.ts";
import { prepareInit } from "./backbone_init.ts";
import { JOINT_DEFAULTS, type JointSection } from "./joint_training.ts";
import {
  prefixKeys,
  TRAIN_CHOICES,
  type TrainSection,
} from "./train_config.ts";
import { MODEL_PLUGINS } from "./model_config.ts";

export type { StudentSection } from "./mixed_training.ts";

/** Teacher settings on top of a train section. */
export interface TeacherSection extends TrainSection {
  /** Augmentation of the teacher. */
  augment: string;
}

/** Config of `coco-selftrain`. */
export interface CocoSelfTrainConfig {
  [key: string]:
    | string
    | number
    | AugSection
    | DetectionDataSection
    | DetectorSection
    | TrainSection
    | PseudoSection
    | JointSection;
  /** Seed of everything. */
  seed: number;
  /** Student augmentation level (the stronger one); the teacher's is `teacher.augment`. */
  augment: string;
  /** Settings of the augmentation levels. */
  aug: AugSection;
  /** `all`, or one phase: `teacher`, `label`, `student`. */
  phase: string;
  /** `I/N`: label only shard I of N of the pool (with phase=label). */
  shard: string;
  /** How the pool is sliced into shards: `range` or `hash`. */
  shardMode: string;
  /** Baseline's human images per step: `human` (the student's human half) or `full` (its whole batch). */
  baselineBatch: string;
  /** Data. */
  data: DetectionDataSection;
  /** Detector (teacher and student share the architecture). */
  model: DetectorSection;
  /** Teacher training. */
  teacher: TeacherSection;
  /** Pseudo-labelling. */
  pseudo: PseudoSection;
  /** Student training. */
  student: StudentSection;
  /** Joint classification training of teacher, student and baseline (off at weight 0). */
  joint: JointSection;
}

const PHASES = ["all", "teacher", "label", "student", "baseline"] as const;

/** The recipe. */
export const cocoSelfTrainRecipe: Recipe<CocoSelfTrainConfig> = {
  name: "coco-selftrain",
  description:
    "teacher -> pseudo-labels -> student (RetinaNet, built-in shapes by default)",
  defaults: {
    seed: 0,
    phase: "all",
    // Defaults chosen by AP on the tune split (docs/selftraining.md).
    augment: "S1",
    aug: AUG_DEFAULTS,
    shard: "",
    shardMode: "range",
    baselineBatch: "human",
    data: { ...DETECTION_DATA_DEFAULTS, fraction: 1 },
    model: CPU_DETECTOR,
    teacher: { ...CPU_DETECTOR_TRAIN, augment: "S1" },
    pseudo: {
      labeler: "soft",
      threshold: 0.3,
      ignoreBelow: 0.1,
      batchSize: 16,
      temperature: 0.5,
      nms: "none",
    },
    student: {
      // The paper's protocol: a fresh model trained as long as the teacher,
      // on 8 human + 8 pseudo images per step; the teacher then is its
      // compute-matched baseline (same init, steps, schedule, human batch).
      ...CPU_DETECTOR_TRAIN,
      batchSize: 16,
      init: "random",
      mixRatio: "1:1",
      normalize: true,
      alpha: 1,
      normDecay: 0.99,
      positivesMomentum: 0,
    },
    joint: JOINT_DEFAULTS,
  },
  help: COCO_SELFTRAIN_HELP,
  choices: {
    phase: PHASES,
    shardMode: ["range", "hash"],
    baselineBatch: ["human", "full"],
    "pseudo.nms": ["none", "classwise", "agnostic"],
    ...DETECTION_COMMON_CHOICES,
    "student.init": ["random", "teacher"],
    ...prefixKeys("teacher", TRAIN_CHOICES),
    ...prefixKeys("student", TRAIN_CHOICES),
  },
  plugins: MODEL_PLUGINS,
  async run(ctx) {
    const { config: c, registry, events, out } = ctx;
    const started = performance.now();
    const only = c.phase;
    const shard = c.shard ? parseShard(c.shard) : NO_SHARD;
    if (shard.count > 1 && only !== "label") {
      throw new Error(
        `--shard labels one slice of the pool: use it with --phase label`,
      );
    }
    const teacherDone = await exists(`${out}/teacher/metrics.json`);
    if (!teacherDone && only !== "all" && only !== "teacher") {
      throw new Error(
        `--phase ${only} needs a trained teacher in ${out}/teacher: run \`deno task recipe coco-selftrain --phase teacher --out ${out}\` first`,
      );
    }
    const splits = await loadDetectionData(registry, c.data, c.seed);
    if (!splits.unlabeled || splits.unlabeled.size === 0) {
      throw new Error(
        "self-training needs unlabelled images: set data.unlabeled or data.unlabeledImages",
      );
    }
    const numClasses = splits.train.classNames.length;
    await writeClassNames(out, splits.train.classNames);
    // Teacher, student and baseline all start from model.init.
    const init = await prepareInit(registry, c.model, out, events);
    const build = (seed: number) =>
      init.apply(buildDetector(
        registry,
        c.model,
        numClasses,
        c.data.inputSize,
        seed,
        init.record.overrides,
      ));
    const studentAugment = () =>
      createAugmenter(registry, c.augment, c.aug, c.data.inputSize);

    // 1. Teacher. Training it takes the folder's lock (one process at a
    // time); a finished teacher is only read, so label shards run at once.
    const teacher = modelOnDemand(
      () => build(c.seed),
      `${out}/teacher/checkpoints`,
    );
    const runTeacher = () =>
      runPhase(out, "teacher", events, async (dir) => {
        const model = await teacher.fresh();
        await trainPhase(ctx, "teacher", model, c.teacher, {
          dir,
          augment: createAugmenter(
            registry,
            c.teacher.augment,
            c.aug,
            c.data.inputSize,
          ),
          data: splits.train,
        });
        return await evaluateDetector(
          model,
          splits,
          dir,
          events,
          "teacher",
        );
      }, { total: c.teacher.steps, unit: "steps" });
    const teacherPhase = teacherDone
      ? await runTeacher()
      : await withPhaseLock(out, "teacher", runTeacher);
    if (only === "teacher") {
      teacher.dispose();
      return {
        recipe: "coco-selftrain",
        phase: "teacher",
        teacher: { metrics: teacherPhase.metrics },
      };
    }

    // 2. Pseudo-labels.
    const merged = `${out}/pseudo_labels.json`;
    const unsharded = PseudoLabelStore.cocoPathFor(`${out}/labels`);
    // The store writes its COCO file only once every image is journaled.
    const labelled = await exists(merged) ||
      (shard.count === 1 && await exists(unsharded));
    if (labelled) {
      events.emit({
        type: "phase-end",
        phase: "label",
        metrics: {},
        skipped: true,
      });
    }
    const needLabels = only !== "baseline";
    const labelPhase = labelled || !needLabels ? null : await labelPool({
      ctx,
      teacher: await teacher.trained(),
      pool: splits.unlabeled,
      categories: await datasetCategories(splits),
      pseudo: c.pseudo,
      shard,
      shardMode: c.shardMode as ShardMode,
    });
    teacher.dispose();
    if (only === "label" || shard.count > 1) {
      return {
        recipe: "coco-selftrain",
        phase: "label",
        shard: c.shard,
        pseudo_labels: labelPhase,
      };
    }
    const labelsFile = await exists(merged) ? merged : unsharded;

    // 3. Student, and 4. its compute-matched baseline: the same
    // initialisation, steps, schedule, augmentation and batch order seed.
    const initModel = async (): Promise<TaskModel> => {
      const model = await build(c.seed + 1);
      if (c.student.init === "teacher") {
        await loadModelWeights(model, `${out}/teacher/checkpoints`);
      }
      return model;
    };
    // Models and data are built inside the phase: a finished phase is
    // skipped without them (a resumed study cell).
    const mixed = (phase: "student" | "baseline") =>
      runPhase(out, phase, events, async (dir) => {
        const model = await initModel();
        const pseudo = phase === "student"
          ? await PseudoLabeledDataset.open(splits.unlabeled!, labelsFile)
          : null;
        const soft = phase === "student" && c.pseudo.labeler === "soft";
        const softTeacher = soft ? await build(c.seed) : null;
        if (softTeacher) {
          await loadModelWeights(softTeacher, `${out}/teacher/checkpoints`);
        }
        try {
          return await trainMixedPhase({
            ctx,
            phase,
            model,
            student: c.student,
            splits,
            pseudo,
            augment: studentAugment(),
            seed: c.seed,
            dir,
            baselineBatch: c.baselineBatch as BaselineBatch,
            softTeacher: softTeacher
              ? { model: softTeacher, temperature: c.pseudo.temperature }
              : undefined,
          });
        } finally {
          model.dispose();
          softTeacher?.dispose();
        }
      }, { total: c.student.steps, unit: "steps" });
    const studentPhase = only === "baseline" ? null : await mixed("student");
    if (only === "student") {
      return {
        recipe: "coco-selftrain",
        phase: "student",
        student: { metrics: studentPhase!.metrics },
      };
    }
    const baselineIsTeacher = teacherIsBaseline(c);
    const baselinePhase = baselineIsTeacher
      ? teacherPhase
      : await mixed("baseline");
    if (only === "baseline") {
      return {
        recipe: "coco-selftrain",
        phase: "baseline",
        baseline: { metrics: baselinePhase.metrics },
      };
    }

    return await writeSelfTrainReport(out, {
      recipe: "coco-selftrain",
      seed: c.seed,
      backend: ctx.backend.name,
      init: init.record,
      ...phaseOutcomes(c, {
        teacher: teacherPhase.metrics,
        baseline: baselinePhase.metrics,
        student: studentPhase!.metrics,
      }, baselineIsTeacher),
      labelsFile,
      classNames: splits.train.classNames,
      humanPerClass: await labelCounts(splits.train),
      seconds: (performance.now() - started) / 1000,
    });
  },
};

/**
 * True when the teacher already is the compute-matched baseline: a student
 * from the teacher's initialisation (`model.init`, not the teacher's
 * weights) trained exactly as the teacher was (same steps, schedule and
 * augmentation, all-human batches of the same size).
 */
export function teacherIsBaseline(c: CocoSelfTrainConfig): boolean {
  return trainedAsTeacher(
    c.teacher,
    c.student,
    c.augment,
    c.baselineBatch as BaselineBatch,
  ) && c.student.positivesMomentum === 0;
}
