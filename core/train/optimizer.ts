/**
 * Optimizers over named variables: SGD with momentum (TF semantics:
 * `v = m·v + g; w -= lr·v`) and Adam. Weight decay is L2 added to the
 * gradient for SGD (as Model Garden's regulariser) and decoupled for Adam
 * (AdamW). State is named after the variables, so it is saved and restored
 * with checkpoints. A backend that registers {@link SGD_MOMENTUM_KERNEL}
 * runs each SGD update as that one kernel.
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Optional kernel of a whole SGD-momentum update, for backends where the
 * four elementwise ops cost more than one pass: inputs `{variable,
 * momentum, gradient}` (same shape, float32), attrs {@link SgdMomentumAttrs},
 * outputs `[newVariable, newMomentum]`, computed as the ops in
 * {@link Optimizer} do, in their order.
 */
export const SGD_MOMENTUM_KERNEL = "SelftrainSgdMomentum";

/** Attributes of {@link SGD_MOMENTUM_KERNEL}. */
export type SgdMomentumAttrs = {
  /** Learning rate. */
  lr: number;
  /** Momentum factor μ. */
  momentum: number;
  /** L2 weight decay added to the gradient (0: none). */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** The caller replaces the momentum by its output: a backend may reuse it. */
  inPlace?: boolean;
};

/** One SGD update of `v` and its momentum `m` as tfjs ops (the reference). */
function sgdOps(
  v: tf.Tensor,
  m: tf.Tensor,
  g: tf.Tensor,
  a: SgdMomentumAttrs,
): [tf.Tensor, tf.Tensor] {
  if (a.weightDecay) g = tf.add(g, tf.mul(v, a.weightDecay));
  const newM = tf.add(tf.mul(m, a.momentum), g);
  const step = a.nesterov ? tf.add(g, tf.mul(newM, a.momentum)) : newM;
  return [tf.sub(v, tf.mul(step, a.lr)), newM];
}

/**
 * One SGD-momentum update: {@link SGD_MOMENTUM_KERNEL} when the current
 * backend has it and the tensors are float32 of one shape, else tfjs ops.
 * Returns `[newVariable, newMomentum]`.
 */
export function sgdMomentumUpdate(
  variable: tf.Tensor,
  momentum: tf.Tensor,
  gradient: tf.Tensor,
  attrs: SgdMomentumAttrs,
): [tf.Tensor, tf.Tensor] {
  const fused = tf.getKernel(SGD_MOMENTUM_KERNEL, tf.getBackend()) &&
    [variable, momentum, gradient].every((t) =>
      t.dtype === "float32" &&
      tf.util.arraysEqual(t.shape, variable.shape)
    );
  if (!fused) return sgdOps(variable, momentum, gradient, attrs);
  const inputs = { variable, momentum, gradient };
  const out = tf.engine().runKernel(SGD_MOMENTUM_KERNEL, inputs, { ...attrs });
  return (out as tf.Tensor[]).slice(0, 2) as [tf.Tensor, tf.Tensor];
}

/** Optimizer settings. */
export interface OptimizerConfig {
  /** `sgd` (momentum) or `adam`. */
  type: "sgd" | "adam";
  /** SGD momentum. */
  momentum: number;
  /** Use Nesterov momentum (SGD). */
  nesterov: boolean;
  /** Adam β1. */
  beta1: number;
  /** Adam β2. */
  beta2: number;
  /** Adam ε. */
  epsilon: number;
  /** Weight decay factor. */
  weightDecay: number;
}

/** Applies gradients to variables and owns its slot variables. */
export class Optimizer {
  readonly #cfg: OptimizerConfig;
  /** Named slots, e.g. `momentum/<var>`. */
  readonly #slots = new Map<string, tf.Variable>();
  #t = 0;

  /** Creates an optimizer. */
  constructor(cfg: OptimizerConfig) {
    this.#cfg = cfg;
  }

  /** Updates `vars` (name → variable) with `grads` (name → gradient). */
  apply(
    vars: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
  ): void {
    this.#t++;
    const c = this.#cfg;
    tf.tidy(() => {
      for (const [name, v] of vars) {
        const g = grads.get(name);
        if (!g) continue;
        // Weight decay applies to kernels, not to batch norm or biases.
        const wd = name.endsWith("kernel") ? c.weightDecay : 0;
        if (c.type === "sgd") {
          const m = this.#slot(`momentum/${name}`, v);
          const [newV, newM] = sgdMomentumUpdate(v, m, g, {
            lr,
            momentum: c.momentum,
            weightDecay: wd,
            nesterov: c.nesterov,
            inPlace: true,
          });
          m.assign(newM);
          v.assign(newV);
        } else {
          const m = this.#slot(`adam_m/${name}`, v);
          const s = this.#slot(`adam_v/${name}`, v);
          m.assign(tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1)));
          s.assign(
            tf.add(tf.mul(s, c.beta2), tf.mul(tf.square(g), 1 - c.beta2)),
          );
          const mHat = tf.div(m, 1 - Math.pow(c.beta1, this.#t));
          const sHat = tf.div(s, 1 - Math.pow(c.beta2, this.#t));
          let update = tf.div(mHat, tf.add(tf.sqrt(sHat), c.epsilon));
          if (wd) update = tf.add(update, tf.mul(v, wd));
          v.assign(tf.sub(v, tf.mul(update, lr)));
        }
      }
    });
  }

  #slot(name: string, like: tf.Variable): tf.Variable {
    let s = this.#slots.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      this.#slots.set(name, s);
    }
    return s;
  }

  /** Slot variables by name plus the step counter, for checkpoints. */
  state(): { slots: Map<string, tf.Variable>; iterations: number } {
    return { slots: this.#slots, iterations: this.#t };
  }

  /** Restores slots (copied) and the step counter. */
  restore(slots: ReadonlyMap<string, tf.Tensor>, iterations: number): void {
    for (const [name, value] of slots) {
      const existing = this.#slots.get(name);
      if (existing) existing.assign(value);
      else {
        const copy = value.clone();
        this.#slots.set(name, tf.variable(copy, false));
        copy.dispose();
      }
    }
    this.#t = iterations;
  }

  /** Frees slot variables. */
  dispose(): void {
    for (const s of this.#slots.values()) s.dispose();
    this.#slots.clear();
  }
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`; resolves to
 * the norm before clipping (read asynchronously, which WebGPU needs).
 */
export async function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): Promise<number> {
  const norm = tf.tidy(() => {
    const sq = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(tf.addN(sq));
  });
  const value = (await norm.data())[0];
  norm.dispose();
  if (maxNorm > 0 && value > maxNorm) {
    const scale = maxNorm / value;
    for (const [k, g] of grads) {
      grads.set(k, tf.mul(g, scale));
      g.dispose();
    }
  }
  return value;
}
