/**
 * Exponential moving average of a model's variables (parameters and BN
 * statistics), the usual evaluation weights of EfficientNet-style training.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Module } from "../nn/module.ts";

/** Shadow copies of a module's variables, updated after each step. */
export class WeightEma {
  readonly #module: Module;
  readonly #decay: number;
  readonly shadow: Map<string, tf.Variable> = new Map();

  /** Starts the average at the module's current values. */
  constructor(module: Module, decay: number) {
    this.#module = module;
    this.#decay = decay;
    for (const [name, v] of module.namedVariables()) {
      // tf.variable keeps its own reference: free the temporary copy.
      const copy = v.clone();
      this.shadow.set(name, tf.variable(copy, false));
      copy.dispose();
    }
  }

  /** `shadow = d·shadow + (1-d)·value`, with the TF warm-up `d = min(decay, (1+t)/(10+t))`. */
  update(step: number): void {
    const d = Math.min(this.#decay, (1 + step) / (10 + step));
    tf.tidy(() => {
      for (const [name, v] of this.#module.namedVariables()) {
        const s = this.shadow.get(name)!;
        s.assign(tf.add(tf.mul(s, d), tf.mul(v, 1 - d)));
      }
    });
  }

  /** Frees the shadow variables. */
  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}
