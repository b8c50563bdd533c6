/**
 * Human / pseudo batch mixing for the student (SPEC §2: each batch half
 * human, half pseudo by default). Every batch holds exactly `humanPerBatch`
 * human and `pseudoPerBatch` pseudo indices (human first, so a batch's
 * tensors split by slicing). Each source is an endless stream of epochs,
 * each epoch a fresh seeded permutation of that source, so the smaller
 * source simply cycles faster. `batch(step)` is a pure function of the seed
 * and the step: resuming at step s needs nothing but s.
 *
 * ```ts
 * const mix = new MixedBatchSampler({ humanSize: train.size,
 *   pseudoSize: pseudo.size, batchSize: 8, ratio: "1:1", seed });
 * // e.g. as a data-loader plan: step -> sample references
 * const plan = (step: number) => mix.batch(step).map((e) => ({
 *   dataset: e.source === "human" ? train : pseudo, index: e.index, seed: e.seed,
 * }));
 * ```
 */
import { Rng, seedFor } from "../core/rng.ts";

/** Where a batch entry comes from. */
export type MixSource = "human" | "pseudo";

/** One batch entry: a dataset and an index into it. */
export interface MixedIndex {
  /** Which dataset. */
  source: MixSource;
  /** Index into that dataset. */
  index: number;
  /** Epoch of that source the entry belongs to. */
  epoch: number;
  /** Per-entry seed for augmentation: `seedFor(seed, source, epoch, index)`. */
  seed: number;
}

/** Options of `MixedBatchSampler`. */
export interface MixedBatchOptions {
  /** Size of the human-labelled dataset. */
  humanSize: number;
  /** Size of the pseudo-labelled dataset. */
  pseudoSize: number;
  /** Entries per batch. */
  batchSize: number;
  /** `human:pseudo`, as `"1:1"` or `[1, 1]` (default 1:1). */
  ratio?: string | readonly [number, number];
  /** Seed of the permutations. */
  seed: number;
}

/** Parses `"H:P"` (non-negative numbers, not both 0). */
export function parseRatio(text: string): [number, number] {
  const m = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!m || Number(m[1]) + Number(m[2]) === 0) {
    throw new Error(`mix ratio expects H:P such as 1:1, got "${text}"`);
  }
  return [Number(m[1]), Number(m[2])];
}

const SOURCE_CODE: Record<MixSource, number> = { human: 1, pseudo: 2 };

/** Seeded, resumable sampler of mixed human / pseudo batches. */
export class MixedBatchSampler {
  /** Human entries per batch (the first ones). */
  readonly humanPerBatch: number;
  /** Pseudo entries per batch (the last ones). */
  readonly pseudoPerBatch: number;
  readonly #options: MixedBatchOptions;
  readonly #cache = new Map<string, Int32Array>();

  /** Checks the options; the batch must split exactly by the ratio. */
  constructor(options: MixedBatchOptions) {
    const [h, p] = typeof options.ratio === "string"
      ? parseRatio(options.ratio)
      : options.ratio ?? [1, 1];
    const { batchSize: b, humanSize, pseudoSize } = options;
    const human = b * h / (h + p);
    if (!Number.isInteger(b) || b < 1 || !Number.isInteger(human)) {
      throw new Error(
        `batch size ${b} cannot be split exactly ${h}:${p} (human:pseudo); use a multiple of ${
          h + p
        }`,
      );
    }
    this.humanPerBatch = human;
    this.pseudoPerBatch = b - human;
    if (this.humanPerBatch > 0 && humanSize < 1) {
      throw new Error(
        "mixed batches need human samples, the human dataset is empty",
      );
    }
    if (this.pseudoPerBatch > 0 && pseudoSize < 1) {
      throw new Error(
        "mixed batches need pseudo samples, the pseudo dataset is empty",
      );
    }
    this.#options = options;
  }

  /** Number of the epoch of `source` that batch `step` draws from first. */
  epoch(source: MixSource, step: number): number {
    const [k, n] = this.#stream(source);
    return k === 0 ? 0 : Math.floor(step * k / n);
  }

  /** The entries of batch `step` (0-based): human first, then pseudo. */
  batch(step: number): MixedIndex[] {
    if (!Number.isInteger(step) || step < 0) {
      throw new Error(`batch step must be a non-negative integer, got ${step}`);
    }
    const out: MixedIndex[] = [];
    for (const source of ["human", "pseudo"] as const) {
      const [k, n] = this.#stream(source);
      for (let j = 0; j < k; j++) {
        const t = step * k + j;
        const epoch = Math.floor(t / n);
        const index = this.#permutation(source, epoch)[t - epoch * n];
        const seed = seedFor(
          this.#options.seed,
          SOURCE_CODE[source],
          epoch,
          index,
        );
        out.push({ source, index, epoch, seed });
      }
    }
    return out;
  }

  #stream(source: MixSource): [number, number] {
    return source === "human"
      ? [this.humanPerBatch, this.#options.humanSize]
      : [this.pseudoPerBatch, this.#options.pseudoSize];
  }

  #permutation(source: MixSource, epoch: number): Int32Array {
    const key = `${source}/${epoch}`;
    let perm = this.#cache.get(key);
    if (!perm) {
      const n = this.#stream(source)[1];
      const rng = new Rng(
        seedFor(this.#options.seed, SOURCE_CODE[source], epoch),
      );
      perm = Int32Array.from(
        rng.shuffle(Array.from({ length: n }, (_, i) => i)),
      );
      // A batch touches at most two epochs per source; keep the cache small.
      if (this.#cache.size >= 4) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(key, perm);
    }
    return perm;
  }
}
