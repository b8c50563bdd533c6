/**
 * The RetinaNet loss (SPEC §4), normalised as the tensorflow/tpu reference:
 * `cls = Σ focal / (P + 1)` over non-ignored anchors, `box = Σ huber /
 * (4 (P + 1))` over positive anchors' offsets, with `P` the positives of
 * the whole batch; `total = cls + boxWeight · box`.
 *
 * With `normalizerMomentum > 0`, `P + 1` is replaced by a moving average of
 * `max(P, 1)` over batches (detectron2's RetinaNet): a batch with few or no
 * positives, common for sparse pseudo-labels, then does not blow its
 * negatives' loss up by dividing by ~1.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Loss, LossResult } from "../../core/contracts.ts";
import { huberLoss, sigmoidFocalLoss, softFocalLoss } from "./focal_loss.ts";
import { RETINANET_LOSS_DEFAULTS, type RetinaNetLossConfig } from "./config.ts";
import type { RetinaOutputs } from "./head.ts";
import type { RetinaTargets } from "./targets.ts";

/** Focal + Huber loss over RetinaNet outputs; components `cls` and `box` (unweighted). */
export class RetinaNetLoss implements Loss<RetinaOutputs, RetinaTargets> {
  /** Registered name. */
  readonly name: string = "retinanet-loss";
  readonly #o: RetinaNetLossConfig;
  /** Moving average of the batch positives, kept on the backend. */
  #avgPositives: tf.Scalar | null = null;
  /**
   * The positives' moving average, checkpointed so a resume is exact. It is
   * read asynchronously (WebGPU cannot read back synchronously).
   */
  readonly state: {
    save(): Promise<number | null>;
    load(snapshot: unknown): void;
  } = {
    save: async () =>
      this.#avgPositives === null ? null : (await this.#avgPositives.data())[0],
    load: (s) => {
      if (s !== null && typeof s !== "number") {
        throw new Error(
          `retinanet/loss: checkpointed positives average must be a number or null, got ${
            JSON.stringify(s)
          }`,
        );
      }
      this.#avgPositives?.dispose();
      this.#avgPositives = s === null ? null : tf.keep(tf.scalar(s));
    },
  };

  /** Checks the options. */
  constructor(opts: Readonly<RetinaNetLossConfig> = RETINANET_LOSS_DEFAULTS) {
    if (!(opts.alpha >= 0 && opts.alpha <= 1)) {
      throw new Error(
        `retinanet/loss: alpha must be in [0, 1], got ${opts.alpha}`,
      );
    }
    if (!(opts.gamma >= 0)) {
      throw new Error(`retinanet/loss: gamma must be >= 0, got ${opts.gamma}`);
    }
    if (!(opts.huberDelta > 0)) {
      throw new Error(
        `retinanet/loss: huberDelta must be > 0, got ${opts.huberDelta}`,
      );
    }
    this.#o = { ...opts };
  }

  #normalizer(numPositives: tf.Tensor1D): tf.Tensor {
    const m = this.#o.normalizerMomentum;
    if (m <= 0) return tf.add(tf.sum(numPositives), 1);
    // Tensor ops, not a read-back: WebGPU cannot read synchronously, and the
    // average never leaves the backend. The targets carry no gradient.
    const p = tf.maximum(tf.sum(numPositives), 1);
    const previous = this.#avgPositives;
    const next = previous === null
      ? p
      : tf.add(tf.mul(previous, m), tf.mul(p, 1 - m));
    this.#avgPositives = tf.keep(next) as tf.Scalar;
    previous?.dispose();
    return next;
  }

  /** Computes the batch loss. */
  compute(out: RetinaOutputs, targets: RetinaTargets): LossResult {
    const [N, K, C] = out.cls.shape;
    const tl = targets.labels.shape;
    if (tl[0] !== N || tl[1] !== K || out.box.shape[1] !== K) {
      throw new Error(
        `retinanet/loss: outputs have ${N}x${K} anchors, targets ${tl[0]}x${
          tl[1]
        }`,
      );
    }
    if (
      targets.soft && targets.soft.shape.join("x") !== out.cls.shape.join("x")
    ) {
      throw new Error(
        `retinanet/loss: soft targets are [${targets.soft.shape}], class outputs [${out.cls.shape}]`,
      );
    }
    const o = this.#o;
    return tf.tidy(() => {
      const labels = targets.labels;
      const pos = tf.cast(tf.greaterEqual(labels, 0), "float32");
      const valid = tf.cast(tf.greaterEqual(labels, -1), "float32");
      // Background / ignore codes (< 0) are all zeros either way. tf.oneHot
      // needs depth >= 2; a single class is one-hot by comparison (a
      // broadcast Equal, 30× slower on wasm for COCO's 80 classes). The
      // wasm OneHot writes int32 whatever dtype it is asked for: cast.
      const oneHot = tf.cast(
        C >= 2 ? tf.oneHot(labels, C) : tf.equal(
          tf.expandDims(labels, 2),
          tf.range(0, C, 1, "int32"),
        ),
        "float32",
      );
      const normalizer = this.#normalizer(targets.numPositives);
      // Soft targets (a teacher's probabilities) cover every anchor.
      const cls = targets.soft
        ? tf.div(
          tf.sum(softFocalLoss(out.cls, targets.soft, o.alpha, o.gamma)),
          normalizer,
        ) as tf.Scalar
        : tf.div(
          tf.sum(
            tf.mul(
              sigmoidFocalLoss(out.cls, oneHot, o.alpha, o.gamma),
              tf.expandDims(valid, 2),
            ),
          ),
          normalizer,
        ) as tf.Scalar;
      const huber = huberLoss(tf.sub(out.box, targets.boxes), o.huberDelta);
      const box = tf.div(
        tf.sum(tf.mul(huber, tf.expandDims(pos, 2))),
        tf.mul(normalizer, 4),
      ) as tf.Scalar;
      const total = tf.add(cls, tf.mul(box, o.boxWeight)) as tf.Scalar;
      return { total, components: { cls, box } };
    });
  }
}
