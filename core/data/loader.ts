/**
 * Batching: a plan says which samples make batch `step` (a pure function of
 * the step, so resumed runs see the same data), the loader fetches them,
 * augments each with a generator seeded by (seed, epoch, index), and stacks
 * them into a normalised image tensor. Batches are prefetched: while the
 * trainer runs step `s`, batch `s+1` is already being decoded.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Augmenter } from "../contracts.ts";
import { Rng, seedFor } from "../rng.ts";
import type { BatchSource } from "../train/loop.ts";
import type { Dataset, RawImage, Sample } from "../types.ts";

/** One sample to load: which dataset, which index, which augmentation seed. */
export interface SampleRef {
  /** Source dataset. */
  dataset: Dataset;
  /** Index in the dataset. */
  index: number;
  /** Seed of this sample's augmentation. */
  seed: number;
}

/** Which samples make up batch `step`. */
export type BatchPlan = (step: number) => SampleRef[];

/** A batch: the stacked input tensor and the samples it came from. */
export interface SampleBatch {
  /** `[N, H, W, 3]` float32, normalised. */
  images: tf.Tensor4D;
  /** The (augmented) samples, with their targets. */
  samples: Sample[];
}

/**
 * Epoch-shuffled plan over one dataset: every epoch is a fresh seeded
 * permutation; a batch may straddle two epochs.
 */
export function shuffledPlan(
  dataset: Dataset,
  batchSize: number,
  seed: number,
): BatchPlan {
  const cache = new Map<number, number[]>();
  const order = (epoch: number) => {
    let o = cache.get(epoch);
    if (!o) {
      o = new Rng(seedFor(seed, epoch)).shuffle(
        Array.from({ length: dataset.size }, (_, i) => i),
      );
      cache.clear();
      cache.set(epoch, o);
    }
    return o;
  };
  return (step) => {
    if (dataset.size === 0) throw new Error("cannot batch an empty dataset");
    const refs: SampleRef[] = [];
    for (let k = 0; k < batchSize; k++) {
      const flat = step * batchSize + k;
      const epoch = Math.floor(flat / dataset.size);
      const index = order(epoch)[flat % dataset.size];
      refs.push({ dataset, index, seed: seedFor(seed, epoch, index) });
    }
    return refs;
  };
}

/**
 * The labelled fraction of a training split, shared by every dataset:
 * `round(fraction * n)` entries (at least 1) chosen by a seeded shuffle of
 * the list, returned in list order. The same seed gives the same entries,
 * and a smaller fraction is a subset of a larger one (20% ⊂ 50% ⊂ 100%), so
 * a study over fractions compares nested label sets, as the paper's did.
 */
export function selectFraction<T>(
  entries: readonly T[],
  fraction: number,
  seed: number,
): T[] {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new Error(`fraction must be in (0, 1], got ${fraction}`);
  }
  if (fraction === 1) return [...entries];
  const n = Math.max(1, Math.round(fraction * entries.length));
  const order = new Rng(seedFor(seed, 0x66726163)).shuffle([...entries.keys()]);
  return order.slice(0, n).sort((a, b) => a - b).map((i) => entries[i]);
}

/** Per-channel mean and std (0–255 scale) used to normalise inputs. */
export interface Normalization {
  /** RGB mean. */
  mean: readonly [number, number, number];
  /** RGB standard deviation. */
  std: readonly [number, number, number];
}

/** ImageNet statistics, as the reference detection code uses. */
export const IMAGENET_NORMALIZATION: Normalization = {
  mean: [123.675, 116.28, 103.53],
  std: [58.395, 57.12, 57.375],
};

/** Stacks same-sized images into a normalised `[N, H, W, 3]` tensor. */
export function imagesToTensor(
  images: readonly RawImage[],
  norm: Normalization = IMAGENET_NORMALIZATION,
): tf.Tensor4D {
  const { width, height } = images[0];
  const plane = width * height * 3;
  const out = new Float32Array(images.length * plane);
  const scale = norm.std.map((s) => 1 / s);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height || img.channels !== 3) {
      throw new Error(
        `batch images must share one size and be RGB: got ${img.width}x${img.height}x${img.channels}, expected ${width}x${height}x3`,
      );
    }
    const d = img.data;
    const base = n * plane;
    for (let i = 0; i < plane; i += 3) {
      out[base + i] = (d[i] - norm.mean[0]) * scale[0];
      out[base + i + 1] = (d[i + 1] - norm.mean[1]) * scale[1];
      out[base + i + 2] = (d[i + 2] - norm.mean[2]) * scale[2];
    }
  });
  return tf.tensor4d(out, [images.length, height, width, 3]);
}

/** Options of `BatchLoader`. */
export interface BatchLoaderOptions {
  /** Which samples make each batch. */
  plan: BatchPlan;
  /** Augmentation applied per sample (none for evaluation). */
  augment?: Augmenter;
  /** Input normalisation. */
  normalization?: Normalization;
  /** Batches kept in flight ahead of the trainer. */
  prefetch?: number;
}

/** Loads, augments and stacks batches, with prefetch. */
export class BatchLoader implements BatchSource<SampleBatch> {
  readonly #opts: BatchLoaderOptions;
  readonly #pending = new Map<number, Promise<Sample[]>>();

  /** Creates a loader. */
  constructor(opts: BatchLoaderOptions) {
    this.#opts = opts;
  }

  /** Loads batch `step`, and starts loading the ones after it. */
  async batchAt(step: number): Promise<SampleBatch> {
    const ahead = this.#opts.prefetch ?? 2;
    for (let s = step; s <= step + ahead; s++) {
      if (!this.#pending.has(s)) this.#pending.set(s, this.#load(s));
    }
    const samples = await this.#pending.get(step)!;
    for (const s of [...this.#pending.keys()]) {
      if (s <= step) this.#pending.delete(s);
    }
    return toBatch(samples, this.#opts.normalization);
  }

  async #load(step: number): Promise<Sample[]> {
    const refs = this.#opts.plan(step);
    const raw = await Promise.all(refs.map((r) => r.dataset.get(r.index)));
    const aug = this.#opts.augment;
    return aug ? raw.map((s, i) => aug.apply(s, new Rng(refs[i].seed))) : raw;
  }

  /** Images in a batch. */
  sizeOf(batch: SampleBatch): number {
    return batch.samples.length;
  }

  /** Frees the batch tensor. */
  dispose(batch: SampleBatch): void {
    batch.images.dispose();
  }
}

/** Iterates a dataset in order in batches (for evaluation / labelling). */
export async function* sequentialBatches(
  dataset: Dataset,
  batchSize: number,
  normalization?: Normalization,
  indices?: readonly number[],
): AsyncGenerator<SampleBatch> {
  const all = indices ?? Array.from({ length: dataset.size }, (_, i) => i);
  let next = Promise.all(all.slice(0, batchSize).map((i) => dataset.get(i)));
  for (let start = 0; start < all.length; start += batchSize) {
    const samples = await next;
    const upcoming = all.slice(start + batchSize, start + 2 * batchSize);
    next = Promise.all(upcoming.map((i) => dataset.get(i)));
    yield toBatch(samples, normalization);
  }
}

function toBatch(samples: Sample[], norm?: Normalization): SampleBatch {
  return { images: imagesToTensor(samples.map((s) => s.image), norm), samples };
}
