/**
 * Loss normalisation of self-training (SPEC §2, paper Appendix B):
 *
 *   L = 1/(1+α) · (L_h + α · (L̄_h / L̄_p) · L_p)
 *
 * `L_h`, `L_p` are the batch's human and pseudo losses; `L̄_h`, `L̄_p` their
 * moving averages. The paper does not give the averaging details, so these
 * are our (configurable) choices:
 * - exponential moving averages, `m ← decay·m + (1−decay)·x`, initialised
 *   from the first observed value (no zero-bias warm-up);
 * - the averages are updated with the current batch BEFORE the ratio is
 *   taken, so at step 1 the ratio is `L_h / L_p`;
 * - the ratio is a constant for the gradient (computed from numbers, not
 *   differentiated): dL/dL_h = 1/(1+α), dL/dL_p = α·r/(1+α);
 * - `L̄_p` is floored at `eps`; `maxRatio > 0` caps the ratio (off by default).
 *
 * On `webgpu`, which cannot read a tensor synchronously, the same arithmetic
 * runs on the backend: the averages stay there as scalars, and `save()`
 * reads them back (asynchronously) for checkpoints.
 *
 * With `enabled: false` (the ablation) the ratio is fixed to 1:
 * `L = (L_h + α·L_p) / (1+α)`, i.e. the plain mean for α = 1, so both arms
 * keep the same overall loss scale. The averages are still tracked for logs.
 */
import * as tf from "@tensorflow/tfjs-core";

/** `x` as a constant for the gradient (identity forward, zero backward). */
const constant = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Scalar;

/** Config of the loss normaliser (all CLI-overridable). */
export type LossNormalizerConfig = {
  /** Weight α of the pseudo loss (unconfirmed default 1.0). */
  alpha: number;
  /** EMA decay of the moving averages (our choice: 0.99). */
  decay: number;
  /** False: no ratio, `L = (L_h + α·L_p)/(1+α)`. */
  enabled: boolean;
  /** Floor of `L̄_p` in the ratio. */
  eps: number;
  /** Upper bound of the ratio; 0 = no bound. */
  maxRatio: number;
};

/** Defaults of the loss normaliser. */
export const LOSS_NORMALIZER_DEFAULTS: LossNormalizerConfig = {
  alpha: 1,
  decay: 0.99,
  enabled: true,
  eps: 1e-8,
  maxRatio: 0,
};

/** Checkpointable state of a `LossNormalizer`. */
export interface LossNormalizerState {
  /** Moving average of the human loss (null before the first step). */
  humanAvg: number | null;
  /** Moving average of the pseudo loss (null before the first step). */
  pseudoAvg: number | null;
  /** Steps observed. */
  steps: number;
}

/**
 * Combines human and pseudo losses with moving-average normalisation. Call
 * `combine` exactly once per training step (it advances the averages);
 * save `save()` with checkpoints and `load` it on resume.
 *
 * ```ts
 * const norm = new LossNormalizer({ alpha: 1 });
 * optimizer.minimize(() => {
 *   const { human, pseudo } = losses(batch);   // two tf.Scalars
 *   return norm.combine(human, pseudo);        // updates the averages
 * });
 * checkpoint.normalizer = norm.getState();
 * ```
 */
export class LossNormalizer {
  /** The resolved config. */
  readonly config: LossNormalizerConfig;
  #humanAvg: number | null = null;
  #pseudoAvg: number | null = null;
  #steps = 0;
  /** The averages on the backend (webgpu path), newer than the numbers. */
  #device: { human: tf.Scalar; pseudo: tf.Scalar } | null = null;

  /** Creates a normaliser; missing keys take `LOSS_NORMALIZER_DEFAULTS`. */
  constructor(config: Partial<LossNormalizerConfig> = {}) {
    this.config = { ...LOSS_NORMALIZER_DEFAULTS, ...config };
    const { alpha, decay, eps, maxRatio } = this.config;
    if (
      !(alpha >= 0) || !(decay >= 0 && decay < 1) || !(eps > 0) ||
      !(maxRatio >= 0)
    ) {
      throw new Error(
        `LossNormalizer: need alpha >= 0, 0 <= decay < 1, eps > 0, maxRatio >= 0; got ${
          JSON.stringify(this.config)
        }`,
      );
    }
  }

  /**
   * Updates the moving averages with one step's loss values and returns the
   * ratio to apply to the pseudo loss (1 when disabled).
   */
  observe(human: number, pseudo: number): number {
    if (!Number.isFinite(human) || !Number.isFinite(pseudo)) {
      throw new Error(
        `LossNormalizer: non-finite loss at step ${
          this.#steps + 1
        } (human ${human}, pseudo ${pseudo})`,
      );
    }
    const d = this.config.decay;
    this.#humanAvg = this.#humanAvg === null
      ? human
      : d * this.#humanAvg + (1 - d) * human;
    this.#pseudoAvg = this.#pseudoAvg === null
      ? pseudo
      : d * this.#pseudoAvg + (1 - d) * pseudo;
    this.#steps++;
    return this.ratio();
  }

  /** Current ratio `L̄_h / L̄_p` (1 before the first step or when disabled). */
  ratio(): number {
    if (!this.config.enabled || this.#humanAvg === null) return 1;
    const r = this.#humanAvg / Math.max(this.#pseudoAvg!, this.config.eps);
    return this.config.maxRatio > 0 ? Math.min(r, this.config.maxRatio) : r;
  }

  /**
   * `1/(1+α) · (L_h + α·r·L_p)` as a scalar differentiable in both losses
   * (`r` constant). Reads the two values (synchronously) to update the
   * averages; the inputs are not disposed.
   */
  combine(human: tf.Scalar, pseudo: tf.Scalar): tf.Scalar {
    if (tf.getBackend() === "webgpu") {
      return this.#combineOnDevice(human, pseudo);
    }
    const r = this.observe(human.dataSync()[0], pseudo.dataSync()[0]);
    const { alpha } = this.config;
    return tf.tidy(() =>
      tf.mul(
        tf.add(human, tf.mul(pseudo, alpha * r)),
        1 / (1 + alpha),
      ) as tf.Scalar
    );
  }

  /** `combine` without reading back: the averages and ratio as tensors. */
  #combineOnDevice(human: tf.Scalar, pseudo: tf.Scalar): tf.Scalar {
    const { alpha, decay: d, eps, maxRatio, enabled } = this.config;
    const prev = this.#device ?? (this.#humanAvg === null ? null : {
      human: tf.scalar(this.#humanAvg),
      pseudo: tf.scalar(this.#pseudoAvg!),
    });
    const avg = (old: tf.Scalar | undefined, x: tf.Scalar) =>
      tf.keep(
        old ? tf.add(tf.mul(old, d), tf.mul(constant(x), 1 - d)) : constant(x),
      ) as tf.Scalar;
    const next = {
      human: avg(prev?.human, human),
      pseudo: avg(prev?.pseudo, pseudo),
    };
    if (prev) tf.dispose([prev.human, prev.pseudo]);
    this.#device = next;
    this.#steps++;
    return tf.tidy(() => {
      let r: tf.Scalar = tf.scalar(1);
      if (enabled) {
        r = tf.div(next.human, tf.maximum(next.pseudo, eps));
        if (maxRatio > 0) r = tf.minimum(r, maxRatio);
      }
      return tf.mul(
        tf.add(human, tf.mul(pseudo, tf.mul(r, alpha))),
        1 / (1 + alpha),
      ) as tf.Scalar;
    });
  }

  /** Reads the backend's averages (webgpu path) into the numbers. */
  async #settle(): Promise<LossNormalizerState> {
    const device = this.#device;
    if (device) {
      const [h, p] = await Promise.all([
        device.human.data(),
        device.pseudo.data(),
      ]);
      if (!Number.isFinite(h[0]) || !Number.isFinite(p[0])) {
        throw new Error(
          `LossNormalizer: non-finite loss average by step ${this.#steps} (human ${
            h[0]
          }, pseudo ${p[0]})`,
        );
      }
      this.#humanAvg = h[0];
      this.#pseudoAvg = p[0];
    }
    return this.getState();
  }

  /**
   * The state, for checkpoints. On webgpu the averages live on the backend
   * and are read by `save()`; this returns the numbers last read.
   */
  getState(): LossNormalizerState {
    return {
      humanAvg: this.#humanAvg,
      pseudoAvg: this.#pseudoAvg,
      steps: this.#steps,
    };
  }

  /**
   * Same as `getState` (the trainer's resumable-state interface); a promise
   * when the averages must first be read back from the backend (webgpu).
   */
  save(): LossNormalizerState | Promise<LossNormalizerState> {
    return this.#device ? this.#settle() : this.getState();
  }

  /** Restores a `save` snapshot, checking its shape. */
  load(snapshot: unknown): void {
    const s = snapshot as LossNormalizerState;
    const okAvg = (v: unknown) => v === null || typeof v === "number";
    if (
      !s || !okAvg(s.humanAvg) || !okAvg(s.pseudoAvg) ||
      typeof s.steps !== "number"
    ) {
      throw new Error(
        `LossNormalizer: bad saved state ${JSON.stringify(snapshot)}`,
      );
    }
    this.setState(s);
  }

  /** Restores a state saved with `getState`. */
  setState(state: LossNormalizerState): void {
    if (this.#device) tf.dispose([this.#device.human, this.#device.pseudo]);
    this.#device = null;
    this.#humanAvg = state.humanAvg;
    this.#pseudoAvg = state.pseudoAvg;
    this.#steps = state.steps;
  }
}
