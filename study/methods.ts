/**
 * The study's axes and the one table that maps them onto recipes: each
 * method names, per task, the recipe that runs it, the config keys that
 * take the cell's augmentation level, and where its headline model sits in
 * `report.json`. An initialisation other than random is a backbone written
 * by a pre-training recipe (`<out>/backbone/`), passed as `model.init`.
 */

/** What a study cell trains: detection (COCO AP) or segmentation (mIoU). */
export type Task = "detection" | "segmentation";

/** Tasks in table order. */
export const TASKS: readonly Task[] = ["detection", "segmentation"];

/** Initialisation of the backbone. */
export type InitKind = "random" | "imagenet" | "simclr";

/** Initialisations in row order. */
export const INIT_KINDS: readonly InitKind[] = ["random", "imagenet", "simclr"];

/** How a model is trained. */
export type Method =
  | "supervised"
  | "self-training"
  | "pretrain-self-training"
  | "joint";

/** Methods in row order. */
export const METHOD_NAMES: readonly Method[] = [
  "supervised",
  "self-training",
  "pretrain-self-training",
  "joint",
];

/** Where a recipe's reported model keeps its metrics in `report.json`. */
export type ReportModel = "metrics" | "student";

/** How one method runs as a recipe for one task. */
export interface RecipeBinding {
  /** Recipe name (`deno task recipe NAME`). */
  recipe: string;
  /** Config keys set to the cell's augmentation level. */
  augmentKeys: readonly string[];
  /** The model whose metric the cell reports. */
  reports: ReportModel;
  /** True when report.json also holds the recipe's compute-matched baseline. */
  hasBaseline: boolean;
}

/** A method: its label, which initialisations it takes, its recipes. */
export interface MethodSpec {
  /** Row label. */
  label: string;
  /** Short name used in cell ids. */
  slug: string;
  /** `random`: random init only; `pretrained`: a pre-trained init only; `any`. */
  init: "random" | "pretrained" | "any";
  /** Sets the joint-training keys (`joint.weight`, `joint.dataset`). */
  joint: boolean;
  /** Recipe per task; a missing task is an error when the grid asks for it. */
  tasks: Readonly<Partial<Record<Task, RecipeBinding>>>;
}

/** A supervised recipe: one `augment` key, the headline in its `metrics`. */
function supervisedBinding(recipe: string): RecipeBinding {
  return {
    recipe,
    augmentKeys: ["augment"],
    reports: "metrics",
    hasBaseline: false,
  };
}

/**
 * A self-training recipe: teacher and student at the column's
 * augmentation (`augmentKeys`; the paper's tables vary one augmentation,
 * and the teacher then is the student's compute-matched baseline), the
 * headline the student's, against that baseline.
 */
function selfTrainingBinding(
  recipe: string,
  augmentKeys: readonly string[],
): RecipeBinding {
  return { recipe, augmentKeys, reports: "student", hasBaseline: true };
}

const DET_SUPERVISED = supervisedBinding("coco-supervised");
const DET_SELFTRAIN = selfTrainingBinding("coco-selftrain", [
  "augment",
  "teacher.augment",
]);
const SEG_SUPERVISED = supervisedBinding("pascal-supervised");
const SEG_SELFTRAIN = selfTrainingBinding("pascal-selftrain", [
  "teacher.augment",
  "student.augment",
]);

/** The methods of the paper's tables and the recipes that run them. */
export const METHODS: Readonly<Record<Method, MethodSpec>> = {
  supervised: {
    label: "supervised",
    slug: "sup",
    init: "any",
    joint: false,
    tasks: { detection: DET_SUPERVISED, segmentation: SEG_SUPERVISED },
  },
  "self-training": {
    label: "self-training",
    slug: "st",
    init: "random",
    joint: false,
    tasks: { detection: DET_SELFTRAIN, segmentation: SEG_SELFTRAIN },
  },
  "pretrain-self-training": {
    label: "pre-training + self-training",
    slug: "pst",
    init: "pretrained",
    joint: false,
    tasks: { detection: DET_SELFTRAIN, segmentation: SEG_SELFTRAIN },
  },
  joint: {
    label: "joint training",
    slug: "joint",
    init: "any",
    joint: true,
    tasks: { detection: DET_SUPERVISED },
  },
};

/** An initialisation: its label and the recipe that pre-trains it. */
export interface InitSpec {
  /** Row label. */
  label: string;
  /** Pre-training recipe writing `<out>/backbone/`, or `null` (random). */
  pretrainRecipe: string | null;
}

/** The initialisations of the paper's tables. */
export const INITS: Readonly<Record<InitKind, InitSpec>> = {
  random: { label: "random init", pretrainRecipe: null },
  imagenet: {
    label: "supervised pre-training",
    pretrainRecipe: "pretrain-supervised",
  },
  simclr: { label: "SimCLR pre-training", pretrainRecipe: "pretrain-simclr" },
};

/** Config key that takes the pre-trained backbone folder. */
export const INIT_KEY = "model.init";

/** Config key of the labelled fraction (both tasks). */
export const FRACTION_KEY = "data.fraction";

/** Folder a pre-training recipe writes its backbone to, inside its `--out`. */
export const BACKBONE_FOLDER = "backbone";

/** Metric keys of a task in its models' metrics: val (reported) and tune. */
export interface TaskMetric {
  /** Column heading: `AP` or `mIoU`. */
  label: string;
  /** Key of the val number. */
  val: string;
  /** Key of the tune number. */
  tune: string;
}

/** The headline metric of each task (fractions in the reports, points in the tables). */
export const TASK_METRICS: Readonly<Record<Task, TaskMetric>> = {
  detection: { label: "AP", val: "AP", tune: "tune/AP" },
  segmentation: { label: "mIoU", val: "mIoU", tune: "tune/mIoU" },
};

/** True when `method` takes initialisation `init`. */
export function methodTakesInit(method: Method, init: InitKind): boolean {
  const want = METHODS[method].init;
  return want === "any" || (want === "random") === (init === "random");
}
