/**
 * The labelling phase: the teacher predicts on the unlabelled pool (or one
 * shard of it), the labeler turns predictions into pseudo targets, and the
 * crash-safe store journals them. Images already in the journal are skipped,
 * so a killed run resumes where it stopped.
 */
import { type CocoCategory, readCocoDataset } from "../eval/mod.ts";
import { writeImage } from "../image/codec.ts";
import { drawBox, type Rgb } from "../image/draw.ts";
import { resizeBilinear } from "../image/resize.ts";
import type { DataSplits } from "../core/registry.ts";
import { sequentialBatches } from "../core/data/loader.ts";
import { writeJsonAtomic } from "../core/fs.ts";
import type { TaskModel } from "../core/model.ts";
import type { RecipeContext } from "../core/registry.ts";
import { type Shard, shardIndices, type ShardMode } from "./shard.ts";
import { PseudoLabelStore, type PseudoStats } from "./pseudo_store.ts";
import type { PseudoLabels } from "../core/contracts.ts";
import type { Dataset, Detection, Sample } from "../core/types.ts";
import { emptyPseudoLabels, sourceSize } from "./pseudo_labels.ts";
import { sampleFileStem, sourceImage } from "../image/source_image.ts";

/** `pseudo.*` settings. */
export interface PseudoSection {
  [key: string]: string | number;
  /** Labeler plugin. */
  labeler: string;
  /** Score threshold. */
  threshold: number;
  /** Boxes scoring in [ignoreBelow, threshold) become ignore regions. */
  ignoreBelow: number;
  /** Images per teacher batch. */
  batchSize: number;
  /** Sharpening temperature of soft labels (`labeler=soft`). */
  temperature: number;
  /** Extra NMS on the teacher's boxes: `none`, `classwise` or `agnostic` (across classes). */
  nms: string;
}

/**
 * The labeler that writes the pool's boxes: `soft` detection labels keep
 * the hard labeler's boxes (the box targets) and take their class targets
 * from the teacher during student training.
 */
export function boxLabeler(pseudo: PseudoSection): string {
  return pseudo.labeler === "soft" ? "hard" : pseudo.labeler;
}

/** Inputs of `labelPool`. */
export interface LabelPoolInputs {
  /** Recipe context. */
  ctx: RecipeContext;
  /** Teacher in inference mode. */
  teacher: TaskModel;
  /** Unlabelled images. */
  pool: Dataset;
  /** COCO categories, label `i` = `categories[i]` in ascending id order. */
  categories: readonly CocoCategory[];
  /** Settings. */
  pseudo: PseudoSection;
  /** Slice of the pool. */
  shard: Shard;
  /** How the pool is sliced (default `range`). */
  shardMode?: ShardMode;
}

/** Pool images drawn with the teacher's boxes by fate (`samples/pseudo_<id>.jpg`). */
export const PSEUDO_PREVIEWS = 12;

/** Colours of a teacher box's fate in the previews. */
export const FATE_COLORS: Readonly<
  Record<"kept" | "ignored" | "dropped", Rgb>
> = {
  kept: [40, 180, 70],
  ignored: [240, 150, 30],
  dropped: [220, 40, 40],
};

/** The COCO categories of the data, label `i` = `categories[i]` (ascending id). */
export async function datasetCategories(
  splits: DataSplits,
): Promise<CocoCategory[]> {
  const file = splits.valAnnotationsFile;
  if (!file) throw new Error("pseudo-labelling needs COCO val annotations");
  return (await readCocoDataset(file)).categories;
}

/** Human boxes per class name of a dataset (from `labelsOf`, else decoding). */
export async function labelCounts(
  data: Dataset,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(
    data.classNames.map((n) => [n, 0]),
  );
  for (let i = 0; i < data.size; i++) {
    const labels = data.labelsOf?.(i) ?? (await data.get(i)).labels ?? [];
    for (const l of labels) {
      const name = data.classNames[l] ?? String(l);
      counts[name] = (counts[name] ?? 0) + 1;
    }
  }
  return counts;
}

/**
 * The fate of each teacher box from the labeler's output, matched by class
 * and score (the labeler keeps the teacher's scores).
 */
function fates(labelled: PseudoLabels | null): (d: Detection) => BoxFate {
  const fate = new Map<string, BoxFate>();
  const n = labelled?.classes.length ?? 0;
  for (let k = 0; k < n; k++) {
    fate.set(
      `${labelled!.classes[k]}:${labelled!.scores[k]}`,
      labelled!.ignore[k] ? "ignored" : "kept",
    );
  }
  return (d) => fate.get(`${d.label}:${Math.fround(d.score)}`) ?? "dropped";
}

export type BoxFate = "kept" | "ignored" | "dropped";

/**
 * Draws every teacher box of `sample` (source pixels) coloured by its fate:
 * kept as a pseudo box, kept as an ignore region, or dropped.
 */
async function writePreview(
  dir: string,
  sample: Sample,
  detections: readonly Detection[],
  fateOf: (d: Detection) => BoxFate,
): Promise<void> {
  const source = await sourceImage(sample);
  // Small inputs are upscaled so that the boxes and captions can be read.
  const k = Math.max(1, Math.round(256 / Math.max(source.width, 1)));
  const image = k === 1
    ? source
    : resizeBilinear(source, source.width * k, source.height * k);
  const sorted = [...detections].sort((a, b) => a.score - b.score);
  for (const d of sorted) {
    const fate = fateOf(d);
    drawBox(image, d.box.map((v) => v * k), {
      color: FATE_COLORS[fate],
      thickness: fate === "dropped" ? 1 : 2,
      label: fate === "dropped" ? undefined : d.score.toFixed(2),
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeImage(`${dir}/pseudo_${sampleFileStem(sample.id)}.jpg`, image);
}

/** Labels the pool (or shard); returns the store's statistics. */
export async function labelPool(inputs: LabelPoolInputs): Promise<PseudoStats> {
  const { ctx, teacher, pool, pseudo, shard } = inputs;
  const categories = [...inputs.categories].sort((a, b) => a.id - b.id);
  // Pass ignoreBelow only to labelers that declare it (user labelers may not).
  const name = boxLabeler(pseudo);
  // Pass each setting only to labelers that declare it (user labelers may not).
  const declared = ctx.registry.get("labeler", name).defaults;
  const wanted: Record<string, number | boolean> = {
    ignoreBelow: pseudo.ignoreBelow,
    nms: pseudo.nms !== "none",
    classAgnostic: pseudo.nms === "agnostic",
  };
  if (pseudo.nms !== "none" && !("nms" in declared)) {
    throw new Error(
      `pseudo.nms=${pseudo.nms}: labeler "${name}" has no nms setting`,
    );
  }
  const labeler = ctx.registry.create("labeler", name, {
    threshold: pseudo.threshold,
    ...Object.fromEntries(
      Object.entries(wanted).filter(([k, v]) =>
        k in declared && v !== declared[k]
      ),
    ),
  });
  const store = await PseudoLabelStore.open(`${ctx.out}/labels`, {
    categories,
    shard,
  });
  const mine = shardIndices(
    pool.size,
    shard,
    inputs.shardMode ?? "range",
    pool.idOf?.bind(pool),
  );
  // Previews: the shard's first images (by id when the pool knows ids).
  const previewIds = new Set(
    pool.idOf ? mine.slice(0, PSEUDO_PREVIEWS).map((i) => pool.idOf!(i)) : [],
  );
  let previewsLeft = pool.idOf ? 0 : PSEUDO_PREVIEWS;
  const todo = pool.idOf ? mine.filter((i) => !store.has(pool.idOf!(i))) : mine;
  const phase = "label";
  ctx.events.emit({
    type: "phase-start",
    phase,
    total: mine.length,
    unit: "images",
  });
  let done = mine.length - todo.length;
  for await (
    const batch of sequentialBatches(pool, pseudo.batchSize, undefined, todo)
  ) {
    const preds = await teacher.predict(batch.images, batch.samples);
    batch.images.dispose();
    for (let i = 0; i < preds.length; i++) {
      const sample = batch.samples[i];
      if (store.has(sample.id)) continue;
      const labelled = labeler.label(preds[i], sample);
      if (previewIds.has(sample.id) || previewsLeft-- > 0) {
        // Previews are a convenience: a failure must not lose the labels.
        await writePreview(
          `${ctx.out}/samples`,
          sample,
          // Detections and the preview image are both in source pixels.
          preds[i].detections ?? [],
          fates(labelled),
        ).catch((e) =>
          ctx.events.emit({
            type: "log",
            message: `pseudo preview: ${(e as Error).message.split("\n")[0]}`,
          })
        );
      }
      if (labelled) {
        await store.addPseudoLabels(
          labelled,
          sample.meta?.file?.split("/").pop(),
        );
      } else {
        const { width, height } = sourceSize(sample);
        await store.addPseudoLabels(
          emptyPseudoLabels(sample.id, width, height),
          sample.meta?.file?.split("/").pop(),
        );
      }
    }
    done += preds.length;
    ctx.events.emit({ type: "progress", phase, done, total: mine.length });
  }
  await store.finalize();
  const stats = store.stats();
  await store.close();
  await writeJsonAtomic(
    `${store.cocoPath.replace(/\.json$/, "")}.stats.json`,
    stats,
  );
  ctx.events.emit({
    type: "phase-end",
    phase,
    metrics: { images: stats.images, boxes: stats.boxes },
    skipped: false,
  });
  return stats;
}
