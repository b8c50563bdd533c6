/**
 * COCO detection datasets: an indexed split served as `Sample`s (decoded,
 * letterboxed to the model input with boxes scaled by `meta.scale`), the
 * deterministic labelled fraction, and the train / val / unlabelled splits a
 * recipe asks for.
 */
import { decodeImage } from "../../image/codec.ts";
import { letterbox, scaleBoxes } from "../../image/resize.ts";
import type { DataSplits } from "../../core/registry.ts";
import { selectFraction } from "../../core/data/loader.ts";
import type { Dataset, RawImage, Sample } from "../../core/types.ts";
import type { CategoryMap } from "./categories.ts";
import {
  type CocoEntry,
  type CocoIndex,
  indexCocoSplit,
  indexImageFolder,
  type LoadReport,
  type OnError,
} from "./indexer.ts";

/** Options of `CocoDetectionDataset`. */
export interface CocoDatasetOptions {
  /** Square model input size; 0 keeps the source size. */
  inputSize?: number;
  /** Bad data policy for images that fail to decode at load time. */
  onError?: OnError;
  /** Whether to return the targets (false for unlabelled data). */
  withTargets?: boolean;
}

/** A COCO split as a random-access `Dataset`. */
export class CocoDetectionDataset implements Dataset {
  /** Indexed images. */
  readonly entries: readonly CocoEntry[];
  /** Category mapping (labels ↔ COCO ids). */
  readonly categories: CategoryMap;
  /** What the index and later decoding skipped. */
  readonly report: LoadReport;
  readonly #opts: Required<CocoDatasetOptions>;

  /** Wraps an index (see `indexCocoSplit`). */
  constructor(index: CocoIndex, opts: CocoDatasetOptions = {}) {
    this.entries = index.entries;
    this.categories = index.categories;
    this.report = index.report;
    this.#opts = { inputSize: 0, onError: "fail", withTargets: true, ...opts };
  }

  /** Number of images. */
  get size(): number {
    return this.entries.length;
  }

  /** Class names, index = label. */
  get classNames(): readonly string[] {
    return this.categories.names;
  }

  /** COCO image id of sample `index`, without decoding the image. */
  idOf(index: number): number | string {
    return this.entries[index].id;
  }

  /** Labels of sample `index` (contiguous), without decoding the image. */
  labelsOf(index: number): Int32Array {
    return this.entries[index].labels.slice();
  }

  /** Maps a contiguous label back to its COCO category id. */
  toCategoryId(label: number): number {
    return this.categories.toCategoryId(label);
  }

  /**
   * Loads sample `index`. A file that passed the header check but fails to
   * decode is an error naming it (fail) or is counted and replaced by the
   * next decodable image (skip).
   */
  async get(index: number): Promise<Sample> {
    if (!(index >= 0 && index < this.size)) {
      throw new Error(`sample index ${index} out of range 0..${this.size - 1}`);
    }
    for (let k = 0; k < this.size; k++) {
      const entry = this.entries[(index + k) % this.size];
      let image: RawImage;
      try {
        image = decodeImage(await Deno.readFile(entry.path), entry.path);
      } catch (e) {
        const msg = (e as Error).message.split("\n")[0];
        if (this.#opts.onError === "fail") {
          throw new Error(
            msg.startsWith(entry.path) ? msg : `${entry.path}: ${msg}`,
          );
        }
        this.report.add("unreadable image", msg);
        console.warn(`coco: skipping ${entry.path}: ${msg}`);
        continue;
      }
      return this.#sample(entry, image);
    }
    throw new Error(
      `no decodable image left in the split (first: ${this.entries[0]?.path})`,
    );
  }

  #sample(entry: CocoEntry, source: RawImage): Sample {
    const size = this.#opts.inputSize;
    let image = source, scale = 1;
    if (size > 0) ({ image, scale } = letterbox(source, size, size));
    const sample: Sample = {
      id: entry.id,
      image,
      meta: {
        sourceWidth: source.width,
        sourceHeight: source.height,
        scale,
        file: entry.path,
      },
    };
    if (this.#opts.withTargets) {
      sample.boxes = scale === 1
        ? entry.boxes.slice()
        : scaleBoxes(entry.boxes, scale);
      sample.labels = entry.labels.slice();
      sample.crowd = entry.crowd.slice();
    }
    return sample;
  }

  /** A dataset over a subset of this one's entries (same options). */
  subset(entries: readonly CocoEntry[]): CocoDetectionDataset {
    return new CocoDetectionDataset(
      {
        entries: [...entries],
        categories: this.categories,
        report: this.report,
      },
      this.#opts,
    );
  }
}

export { selectFraction };

/** Paths and options of `loadCocoSplits` (the `coco` dataset config). */
export interface CocoSplitsConfig {
  /** Train instances JSON. */
  train: string;
  /** Folder of the train images. */
  trainImages: string;
  /** Val instances JSON. */
  val: string;
  /** Folder of the val images. */
  valImages: string;
  /** Unlabelled instances JSON (annotations ignored), or "" to list `unlabeledImages`. */
  unlabeled: string;
  /** Folder of the unlabelled images, or "" for none. */
  unlabeledImages: string;
  /** Tune instances JSON (for choosing hyper-parameters), or "" for none. */
  tune: string;
  /** Folder of the tune images. */
  tuneImages: string;
  /** Labelled fraction of train kept, in (0, 1]. */
  fraction: number;
  /** Seed of the fraction. */
  seed: number;
  /** Square model input size (0 keeps source size). */
  inputSize: number;
  /** "fail" or "skip". */
  onError: string;
}

/** Loads train (fraction applied), val and the optional unlabelled split. */
export async function loadCocoSplits(
  config: CocoSplitsConfig,
): Promise<DataSplits> {
  if (config.onError !== "fail" && config.onError !== "skip") {
    throw new Error(
      `data.onError must be "fail" or "skip", got "${config.onError}"`,
    );
  }
  const onError: OnError = config.onError;
  if (!config.train || !config.val) {
    throw new Error(`coco data needs train and val annotation files`);
  }
  const opts: CocoDatasetOptions = { inputSize: config.inputSize, onError };
  const trainIndex = await indexCocoSplit(config.train, config.trainImages, {
    onError,
  });
  const categories = trainIndex.categories;
  const full = new CocoDetectionDataset(trainIndex, opts);
  const train = full.subset(
    selectFraction(full.entries, config.fraction, config.seed),
  );
  const val = new CocoDetectionDataset(
    await indexCocoSplit(config.val, config.valImages, { onError, categories }),
    opts,
  );
  const splits: DataSplits = { train, val, valAnnotationsFile: config.val };
  if (config.tune) {
    splits.tune = new CocoDetectionDataset(
      await indexCocoSplit(config.tune, config.tuneImages, {
        onError,
        categories,
      }),
      opts,
    );
    splits.tuneAnnotationsFile = config.tune;
  }
  const unlabeledOpts: CocoDatasetOptions = { ...opts, withTargets: false };
  if (config.unlabeled) {
    splits.unlabeled = new CocoDetectionDataset(
      await indexCocoSplit(config.unlabeled, config.unlabeledImages, {
        onError,
        categories,
        imagesOnly: true,
      }),
      unlabeledOpts,
    );
  } else if (config.unlabeledImages) {
    splits.unlabeled = new CocoDetectionDataset(
      await indexImageFolder(config.unlabeledImages, categories, onError),
      unlabeledOpts,
    );
  }
  return splits;
}
