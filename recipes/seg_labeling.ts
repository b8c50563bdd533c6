/**
 * Segmentation pseudo-labels, crash-safe: the teacher predicts on the
 * unlabelled pool (optionally multi-scale + flip, SPEC §2), the labeler
 * (`hard-seg`: argmax, top probability < threshold → 255) makes a mask at
 * source resolution, the mask is written atomically as a VOC-palette PNG
 * under `<out>/labels/masks/`, and only then the image is journaled in the
 * pseudo-label store. A killed run resumes with no image lost or labelled
 * twice (an orphan PNG is simply rewritten).
 */
import { sequentialBatches } from "../core/data/loader.ts";
import { imagesToTensor } from "../core/data/loader.ts";
import { writeFileAtomic } from "../core/fs.ts";
import { decodeMaskPng, encodeMaskPng } from "../image/mask_png.ts";
import type { TaskModel } from "../core/model.ts";
import type { RecipeContext } from "../core/registry.ts";
import { readCoco } from "../selftrain/mod.ts";
import {
  PseudoLabelStore,
  type PseudoStats,
} from "../selftrain/pseudo_store.ts";
import {
  type Dataset,
  IGNORE_LABEL,
  type Prediction,
  type Sample,
} from "../core/types.ts";
import { resizeBilinearHwc } from "../plugins/labelers/prob_maps.ts";
import { segmentationTta, ttaViews } from "../plugins/labelers/tta.ts";
import { sourceGeometry } from "../plugins/deeplab/predict.ts";
import { letterboxMask } from "../plugins/voc/dataset.ts";

/** `pseudo.*` of `pascal-selftrain`. */
export interface SegPseudoSection {
  /** Labeler plugin. */
  labeler: string;
  /** Pixels whose top probability is below this are ignored (paper: 0.5). */
  threshold: number;
  /** Multi-scale (`scales`) + flip teacher. */
  tta: boolean;
  /** TTA scales (paper: 0.5 … 1.75). */
  scales: number[];
  /** Images per teacher batch (without TTA). */
  batchSize: number;
}

/** What labelling needs of a teacher: batched inference. */
export type SegTeacher = Pick<TaskModel, "predict">;

/**
 * The teacher's prediction for one letterboxed sample under multi-scale +
 * flip TTA (`pseudo.tta`): the probability maps of every view (each scale,
 * plain and mirrored) un-flipped, resized to the input and averaged, then
 * cropped to the letterbox content and resized to source pixels, as the
 * head's own postprocess does.
 */
export async function ttaPrediction(
  teacher: SegTeacher,
  sample: Sample,
  scales: number[],
): Promise<
  Prediction & { probs: Float32Array; width: number; height: number }
> {
  const map = await segmentationTta(sample.image, async (view) => {
    const x = imagesToTensor([view]);
    const [p] = await teacher.predict(x, [{ id: sample.id, image: view }]);
    x.dispose();
    return { probs: p.probs!, width: p.width!, height: p.height! };
  }, ttaViews(scales, true));
  // Letterboxed input geometry → source pixels, as the head's postprocess.
  const g = sourceGeometry(sample);
  const crop = new Float32Array(g.contentWidth * g.contentHeight * map.classes);
  for (let y = 0; y < g.contentHeight; y++) {
    const row = (y * map.width) * map.classes;
    crop.set(
      map.probs.subarray(row, row + g.contentWidth * map.classes),
      y * g.contentWidth * map.classes,
    );
  }
  const probs = g.width === g.contentWidth && g.height === g.contentHeight
    ? crop
    : resizeBilinearHwc(
      crop,
      g.contentWidth,
      g.contentHeight,
      map.classes,
      g.width,
      g.height,
    );
  return { id: sample.id, probs, width: g.width, height: g.height };
}

/** Labels the pool into `<out>/labels`; returns the store's statistics. */
export async function labelSegPool(
  ctx: Pick<RecipeContext, "registry" | "out" | "events">,
  teacher: SegTeacher,
  pool: Dataset,
  pseudo: SegPseudoSection,
): Promise<PseudoStats & { ignoredFraction: number }> {
  const labeler = ctx.registry.create("labeler", pseudo.labeler, {
    threshold: pseudo.threshold,
  });
  const dir = `${ctx.out}/labels`;
  await Deno.mkdir(`${dir}/masks`, { recursive: true });
  const categories = pool.classNames.map((name, i) => ({ id: i, name }));
  const store = await PseudoLabelStore.open(dir, { categories });
  const all = Array.from({ length: pool.size }, (_, i) => i);
  const todo = all.filter((i) => !store.has(pool.idOf!(i)));
  const scales = pseudo.scales;
  if (pseudo.tta && !scales.every((v) => v > 0)) {
    throw new Error(
      `pseudo.scales must be positive numbers like 0.5,1,1.5, got ${scales}`,
    );
  }
  ctx.events.emit({
    type: "phase-start",
    phase: "label",
    total: pool.size,
    unit: "images",
  });
  let done = pool.size - todo.length, ignored = 0, pixels = 0;
  for await (
    const batch of sequentialBatches(
      pool,
      pseudo.tta ? 1 : pseudo.batchSize,
      undefined,
      todo,
    )
  ) {
    const preds = pseudo.tta
      ? [await ttaPrediction(teacher, batch.samples[0], scales)]
      : await teacher.predict(batch.images, batch.samples);
    batch.images.dispose();
    for (let i = 0; i < preds.length; i++) {
      const s = batch.samples[i], p = preds[i];
      // The labeler works in the prediction's (source) geometry.
      const src: Sample = {
        id: s.id,
        image: { ...s.image, width: p.width!, height: p.height! },
      };
      const mask = labeler.label(p, src)?.mask ??
        new Uint8Array(p.width! * p.height!).fill(IGNORE_LABEL);
      for (const v of mask) if (v === IGNORE_LABEL) ignored++;
      pixels += mask.length;
      const file = `masks/${s.id}.png`;
      await writeFileAtomic(
        `${dir}/${file}`,
        encodeMaskPng({ data: mask, width: p.width!, height: p.height! }),
      );
      await store.add({
        image: {
          id: s.id,
          file_name: file,
          width: p.width!,
          height: p.height!,
        },
        annotations: [],
      });
    }
    done += preds.length;
    ctx.events.emit({
      type: "progress",
      phase: "label",
      done,
      total: pool.size,
    });
  }
  await store.finalize();
  const stats = {
    ...store.stats(),
    ignoredFraction: pixels ? ignored / pixels : 0,
  };
  await store.close();
  return stats;
}

/** The pool with its pseudo masks (images listed in the store's COCO file). */
export class PseudoSegDataset implements Dataset {
  /** Class names. */
  readonly classNames: readonly string[];
  /** Labelled pool images. */
  readonly size: number;
  readonly #base: Dataset;
  readonly #indices: number[];
  readonly #files: Map<string | number, string>;
  readonly #dir: string;

  private constructor(
    base: Dataset,
    indices: number[],
    files: Map<string | number, string>,
    dir: string,
  ) {
    this.#base = base;
    this.#indices = indices;
    this.#files = files;
    this.#dir = dir;
    this.size = indices.length;
    this.classNames = base.classNames;
  }

  /** Opens `<dir>/pseudo_labels.json` over `base`. */
  static async open(base: Dataset, dir: string): Promise<PseudoSegDataset> {
    const coco = await readCoco(PseudoLabelStore.cocoPathFor(dir));
    const files = new Map(coco.images.map((im) => [im.id, im.file_name]));
    const indices: number[] = [];
    for (let i = 0; i < base.size; i++) {
      if (files.has(base.idOf!(i))) indices.push(i);
    }
    return new PseudoSegDataset(base, indices, files, dir);
  }

  /** Pool image with its pseudo mask letterboxed like the image. */
  async get(index: number): Promise<Sample> {
    const s = await this.#base.get(this.#indices[index]);
    const path = `${this.#dir}/${this.#files.get(s.id)}`;
    const m = decodeMaskPng(await Deno.readFile(path), path);
    return {
      ...s,
      mask: letterboxMask(m.data, m.width, m.height, s.image.width),
      pseudo: true,
    };
  }

  /** Id of sample `index`. */
  idOf(index: number): string | number {
    return this.#base.idOf!(this.#indices[index]);
  }
}
