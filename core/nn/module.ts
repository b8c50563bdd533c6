/**
 * A minimal module system over `tf.Variable`: modules own named parameters
 * (trained) and buffers (batch-norm statistics), and child modules. Names are
 * dotted paths (`backbone.stem.conv.kernel`) so checkpoints are readable and
 * stable across runs.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Forward-pass mode flags passed down the module tree. */
export interface ForwardContext {
  /** Training mode: batch statistics, dropout and drop-connect active. */
  training: boolean;
  /** Training, but batch norm keeps its moving averages (a second task's batch). */
  keepStatistics?: boolean;
  /** Seed source for stochastic layers (drop-connect); seeded by the trainer. */
  rng?: { nextUint32(): number };
}

/** Base class of every layer and model. */
export class Module {
  readonly #children = new Map<string, Module>();
  readonly #params = new Map<string, tf.Variable>();
  readonly #buffers = new Map<string, tf.Variable>();
  #frozen = false;

  /** Adds a child module under `name` and returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    if (this.#children.has(name)) throw new Error(`duplicate child "${name}"`);
    this.#children.set(name, module);
    return module;
  }

  /** Creates a trainable parameter from an initial tensor (kept, not copied). */
  protected param(name: string, init: tf.Tensor): tf.Variable {
    if (this.#params.has(name)) throw new Error(`duplicate param "${name}"`);
    const v = tf.variable(init, true);
    init.dispose();
    this.#params.set(name, v);
    return v;
  }

  /** Creates a non-trainable state variable (e.g. a moving average). */
  protected buffer(name: string, init: tf.Tensor): tf.Variable {
    if (this.#buffers.has(name)) throw new Error(`duplicate buffer "${name}"`);
    const v = tf.variable(init, false);
    init.dispose();
    this.#buffers.set(name, v);
    return v;
  }

  /** This module (path `""`) and every module under it, with dotted paths. */
  namedModules(prefix = ""): [string, Module][] {
    const kids = [...this.#children].flatMap(([n, c]) =>
      c.namedModules(`${prefix}${n}.`)
    );
    return [[prefix.replace(/\.$/, ""), this], ...kids];
  }

  /** Variables `pick` chooses of every module under this one, depth first. */
  #named(
    pick: (m: Module) => Map<string, tf.Variable>,
  ): [string, tf.Variable][] {
    return this.namedModules().flatMap(([path, m]) =>
      [...pick(m)].map(([n, v]): [string, tf.Variable] => [
        path ? `${path}.${n}` : n,
        v,
      ])
    );
  }

  /** Trainable parameters with their dotted names. */
  namedParameters(): [string, tf.Variable][] {
    return this.#named((m) => m.#params);
  }

  /** Non-trainable state with dotted names. */
  namedBuffers(): [string, tf.Variable][] {
    return this.#named((m) => m.#buffers);
  }

  /**
   * Freezes this module and everything under it (detectron2's FrozenBN):
   * its parameters leave the optimizer's list (`namedTrainableParameters`),
   * its batch norms use their moving statistics, and modules that check
   * `frozen` (`inferenceIfFrozen`) run in inference mode. Irreversible.
   */
  freeze(): void {
    for (const [, m] of this.namedModules()) m.#frozen = true;
  }

  /** True once `freeze` was called on this module or a parent. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Parameters of the modules that are not frozen: what an optimizer updates. */
  namedTrainableParameters(): [string, tf.Variable][] {
    return this.#named((m) => m.#frozen ? new Map() : m.#params);
  }

  /** Names of every variable of a frozen module (they never change in training). */
  frozenVariableNames(): Set<string> {
    const frozen = this.#named((m) =>
      m.#frozen ? new Map([...m.#params, ...m.#buffers]) : new Map()
    );
    return new Set(frozen.map(([n]) => n));
  }

  /** Every variable (parameters then buffers), as saved in checkpoints. */
  namedVariables(): [string, tf.Variable][] {
    return [...this.namedParameters(), ...this.namedBuffers()];
  }

  /** Total number of trainable scalars. */
  countParameters(): number {
    return this.namedParameters().reduce((n, [, v]) => n + v.size, 0);
  }

  /** Frees every variable of this module tree and what it derived from them. */
  dispose(): void {
    for (const [, v] of this.namedVariables()) v.dispose();
    this.#releaseTree();
  }

  /**
   * Frees tensors a module derived from its variables and keeps between
   * calls (none by default); `dispose` calls it on every module of the tree.
   */
  protected releaseDerived(): void {}

  #releaseTree(): void {
    this.releaseDerived();
    for (const [, c] of this.#children) c.#releaseTree();
  }
}
