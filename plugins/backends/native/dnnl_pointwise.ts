/**
 * oneDNN's batch normalization (training forward with its own statistics,
 * and backward with the γ / β gradients) and eltwise (swish, relu; forward
 * and backward) primitives on tensors in the wasm heap, through FFI. These
 * passes are memory-bound: our SIMD wasm kernels run them on one thread,
 * oneDNN's JIT kernels on every OpenMP thread (a thread count fixed per
 * process, so results are deterministic for it). Primitives are created per
 * shape on first use and kept in a bounded cache.
 */
import {
  ARG,
  BACKWARD,
  check,
  DESC_BYTES,
  DnnlError,
  FORWARD_INFERENCE,
  FORWARD_TRAINING,
  FUSE_NORM_RELU,
  MD,
  MD_DIFF_DST,
  MD_DST,
  MD_WORKSPACE,
  POST_OPS,
  type PostOp,
  USE_GLOBAL_STATS,
  USE_SCALE,
  USE_SHIFT,
} from "./dnnl_symbols.ts";
import { DnnlPrimitives, type DnnlRuntime, type Prim } from "./dnnl_runtime.ts";
import { dnnlBatchNormThreads, dnnlEltwiseThreads } from "./dnnl_threads.ts";

/** Channels-last data as `batch` × `spatial` rows of `channels`. */
export interface NormShape {
  batch: number;
  spatial: number;
  channels: number;
}

/** Pointers of a training batch norm's forward pass. */
export interface NormForwardArgs {
  x: Deno.PointerValue;
  gamma: Deno.PointerValue;
  beta: Deno.PointerValue;
  y: Deno.PointerValue;
  /** Batch mean and biased variance: written, or read with given statistics. */
  mean: Deno.PointerValue;
  variance: Deno.PointerValue;
  /** With it, y = relu(…) and relu's mask is written here (training only). */
  workspace?: Deno.PointerValue;
}

/** Pointers of a batch norm's backward pass. */
export interface NormBackwardArgs {
  x: Deno.PointerValue;
  dy: Deno.PointerValue;
  mean: Deno.PointerValue;
  variance: Deno.PointerValue;
  gamma: Deno.PointerValue;
  dx: Deno.PointerValue;
  dGamma: Deno.PointerValue;
  dBeta: Deno.PointerValue;
  /** The forward pass's relu mask: dy is masked by it (fused relu). */
  workspace?: Deno.PointerValue;
}

/** An eltwise function oneDNN runs here. */
export type EltwiseAlg = Extract<PostOp, "relu" | "swish">;

/** oneDNN's memory-bound primitives on raw heap pointers. */
export interface DnnlPointwise {
  /** Path of the library. */
  readonly library: string;
  /**
   * y = γ·(x − μ)/√(σ² + ε) + β with the batch's μ, σ² (written), or with
   * `givenStats` those read from `p`; false if unsupported.
   */
  batchNormForward(
    shape: NormShape,
    epsilon: number,
    p: NormForwardArgs,
    givenStats?: boolean,
  ): boolean;
  /**
   * Bytes of the relu mask a training forward pass with `workspace` writes;
   * null when oneDNN has no fused batch norm + relu for the shape.
   */
  reluWorkspaceBytes(shape: NormShape, epsilon: number): number | null;
  /** dx, dγ, dβ of {@link batchNormForward}; false if unsupported. */
  batchNormBackward(
    shape: NormShape,
    epsilon: number,
    p: NormBackwardArgs,
  ): boolean;
  /** y = f(x) over `n` floats; false if unsupported. */
  eltwiseForward(
    alg: EltwiseAlg,
    n: number,
    x: Deno.PointerValue,
    y: Deno.PointerValue,
  ): boolean;
  /** dx = dy·f′(x) over `n` floats; false if unsupported. */
  eltwiseBackward(
    alg: EltwiseAlg,
    n: number,
    x: Deno.PointerValue,
    dy: Deno.PointerValue,
    dx: Deno.PointerValue,
  ): boolean;
  /** oneDNN's implementation names of the primitives created so far. */
  implementations(): string[];
}

const NORM_FLAGS = USE_SCALE | USE_SHIFT;

/** A batch-norm pass: training forward, forward on given statistics, backward. */
type NormKind = "train" | "given" | "backward";

/** A primitive's plain data arguments: (md query, argument id). */
type DataArgs = [query: number, arg: number][];
const FORWARD_DATA: DataArgs = [[MD.src, ARG.src], [MD_DST, ARG.dst]];
const BACKWARD_DATA: DataArgs = [
  [MD.src, ARG.src],
  [MD_DIFF_DST, ARG.diffDst],
  [MD.diffSrc, ARG.diffSrc],
];

/** `pointers` under the argument ids of `dataArgs`, in order. */
function withArgs(
  dataArgs: DataArgs,
  pointers: Deno.PointerValue[],
): [number, Deno.PointerValue][] {
  return dataArgs.map(([, arg], i) => [arg, pointers[i]]);
}

/** Per-channel argument ids of each batch-norm pass: μ, σ², γ, β (, dγ, dβ). */
const STATISTICS = [ARG.mean, ARG.variance, ARG.scale, ARG.shift];
const NORM_VECTORS: Record<NormKind, number[]> = {
  train: STATISTICS,
  given: STATISTICS,
  backward: [...STATISTICS, ARG.diffScale, ARG.diffShift],
};

/** A batch-norm primitive; with relu fused, its workspace's size. */
interface NormPrim extends Prim {
  workspaceBytes?: number;
}

/** {@link DnnlPointwise} on one opened libdnnl (see dnnl_loader.ts). */
export class DnnlPointwisePrimitives extends DnnlPrimitives<NormPrim>
  implements DnnlPointwise {
  static readonly MAX_PRIMITIVES = 256;

  constructor(runtime: DnnlRuntime) {
    super(runtime, DnnlPointwisePrimitives.MAX_PRIMITIVES);
  }

  /** NHWC data as oneDNN's (N, C, spatial, 1), read in place. */
  #dataMd(g: NormShape): Uint8Array {
    const { batch: n, spatial: s, channels: c } = g;
    return this.rt.md([n, c, s, 1], [s * c, 1, c, c]);
  }

  /**
   * The forward pd of the `bytes`-long op descriptor `forward` fills, or
   * with `backward` the backward pd it hints (the forward one then freed).
   */
  #pd(
    bytes: number,
    what: string,
    forward: (desc: Uint8Array) => number,
    backward?: (desc: Uint8Array) => number,
  ): Deno.PointerValue {
    const fwd = new Uint8Array(bytes);
    check(forward(fwd), `${what} forward desc`);
    const hint = this.rt.pd(fwd, null);
    if (!backward) return hint;
    const bwd = new Uint8Array(bytes);
    try {
      check(backward(bwd), `${what} backward desc`);
      return this.rt.pd(bwd, hint);
    } finally {
      this.rt.s.dnnl_primitive_desc_destroy(hint);
    }
  }

  #normPd(
    g: NormShape,
    epsilon: number,
    kind: NormKind,
    relu: boolean,
  ): Deno.PointerValue {
    const s = this.rt.s, data = this.#dataMd(g), given = kind === "given";
    const flags = relu ? NORM_FLAGS | FUSE_NORM_RELU : NORM_FLAGS;
    return this.#pd(
      DESC_BYTES * 8,
      "batch norm",
      (fwd) =>
        s.dnnl_batch_normalization_forward_desc_init(
          fwd,
          given ? FORWARD_INFERENCE : FORWARD_TRAINING,
          data,
          epsilon,
          given ? NORM_FLAGS | USE_GLOBAL_STATS : flags,
        ),
      kind !== "backward"
        ? undefined
        : (bwd) =>
          s.dnnl_batch_normalization_backward_desc_init(
            bwd,
            BACKWARD,
            data,
            data,
            epsilon,
            flags,
          ),
    );
  }

  #eltwisePd(alg: EltwiseAlg, n: number, forward: boolean): Deno.PointerValue {
    const s = this.rt.s, data = this.rt.md([n], [1]);
    const [f, alpha] = POST_OPS[alg];
    return this.#pd(
      DESC_BYTES * 4,
      "eltwise",
      (fwd) =>
        s.dnnl_eltwise_forward_desc_init(
          fwd,
          FORWARD_TRAINING,
          f,
          data,
          alpha,
          0,
        ),
      forward
        ? undefined
        : (bwd) =>
          s.dnnl_eltwise_backward_desc_init(bwd, f, data, data, alpha, 0),
    );
  }

  /**
   * The primitive of `pd`, its data arguments checked to be the plain
   * layout `data` (read in place) and one memory object per argument.
   */
  #prim(
    pd: Deno.PointerValue,
    what: string,
    data: Uint8Array,
    dataArgs: DataArgs,
    vectorArgs: number[],
    channels: number,
  ): Prim {
    const rt = this.rt;
    for (const [query] of dataArgs) rt.requireLayout(pd, query, data, what);
    const p: Prim = { pd, prim: rt.primitive(pd, what), mems: new Map() };
    for (const [, arg] of dataArgs) p.mems.set(arg, rt.memory(data, null));
    const vector = rt.md([channels], [1]);
    for (const arg of vectorArgs) p.mems.set(arg, rt.memory(vector, null));
    return p;
  }

  /**
   * The batch-norm primitive of `kind`, relu fused when `relu`, made on
   * first use (call it under the batch norm's thread count); null if unsupported.
   */
  #normPrim(
    kind: NormKind,
    g: NormShape,
    epsilon: number,
    relu: boolean,
  ): NormPrim | null {
    const key = `bn ${kind} ${g.batch},${g.spatial},${g.channels},${epsilon}` +
      ` ${this.#normThreads()}${relu ? " relu" : ""}`;
    return this.cache.get(key, () => {
      const pd = this.#normPd(g, epsilon, kind, relu);
      const p: NormPrim = this.#prim(
        pd,
        kind === "backward" ? "batch norm backward" : "batch norm forward",
        this.#dataMd(g),
        kind === "backward" ? BACKWARD_DATA : FORWARD_DATA,
        NORM_VECTORS[kind],
        g.channels,
      );
      if (relu) {
        const ws = this.rt.s.dnnl_primitive_desc_query_md(pd, MD_WORKSPACE, 0);
        if (!ws) {
          this.rt.destroy(p);
          throw new DnnlError("batch norm + relu: no workspace");
        }
        p.mems.set(ARG.workspace, this.rt.memory(ws, null));
        p.workspaceBytes = Number(this.rt.s.dnnl_memory_desc_get_size(ws));
      }
      return p;
    });
  }

  /**
   * Runs the batch norm of `kind` on the data at `data` (in the order of
   * its {@link DataArgs}) and the per-channel `vectors` (in
   * {@link NORM_VECTORS}' order), relu fused when there is a `workspace`;
   * false if unsupported.
   */
  #norm(
    kind: NormKind,
    g: NormShape,
    epsilon: number,
    data: Deno.PointerValue[],
    vectors: Deno.PointerValue[],
    workspace: Deno.PointerValue | undefined,
  ): boolean {
    const dataArgs = kind === "backward" ? BACKWARD_DATA : FORWARD_DATA;
    const relu = workspace !== undefined && kind !== "given";
    return this.rt.withThreads(dnnlBatchNormThreads(), () => {
      const p = this.#normPrim(kind, g, epsilon, relu);
      if (!p) return false;
      const args = withArgs(dataArgs, data);
      NORM_VECTORS[kind].forEach((arg, i) => args.push([arg, vectors[i]]));
      if (relu) args.push([ARG.workspace, workspace!]);
      this.rt.run(p, args);
      return true;
    });
  }

  reluWorkspaceBytes(g: NormShape, epsilon: number): number | null {
    return this.rt.withThreads(
      dnnlBatchNormThreads(),
      () => this.#normPrim("train", g, epsilon, true)?.workspaceBytes ?? null,
    );
  }

  batchNormForward(
    ...[g, epsilon, a, givenStats]: Parameters<
      DnnlPointwise["batchNormForward"]
    >
  ): boolean {
    const kind = givenStats ? "given" : "train";
    const vectors = [a.mean, a.variance, a.gamma, a.beta];
    return this.#norm(kind, g, epsilon, [a.x, a.y], vectors, a.workspace);
  }

  /** Threads the batch-norm primitives run with (part of their keys). */
  #normThreads(): number {
    return Math.min(dnnlBatchNormThreads(), this.rt.threads);
  }

  batchNormBackward(
    ...[g, epsilon, a]: Parameters<DnnlPointwise["batchNormBackward"]>
  ): boolean {
    // oneDNN wants β too (γ stands in), though the gradient does not read it
    const data = [a.x, a.dy, a.dx];
    const vectors = [a.mean, a.variance, a.gamma, a.gamma, a.dGamma, a.dBeta];
    return this.#norm("backward", g, epsilon, data, vectors, a.workspace);
  }

  /**
   * Runs eltwise `alg` over `n` floats at `pointers` (the data arguments'
   * ids in order), its primitive made on first use; false if unsupported.
   */
  #eltwise(
    alg: EltwiseAlg,
    n: number,
    forward: boolean,
    pointers: Deno.PointerValue[],
  ): boolean {
    const pass = forward ? "forward" : "backward";
    const dataArgs = forward ? FORWARD_DATA : BACKWARD_DATA;
    const p = this.cache.get(`${alg} ${pass} ${n}`, () =>
      this.#prim(
        this.#eltwisePd(alg, n, forward),
        `${alg} ${pass}`,
        this.rt.md([n], [1]),
        dataArgs,
        [],
        0,
      ));
    if (!p) return false;
    this.rt.withThreads(
      dnnlEltwiseThreads(),
      () => this.rt.run(p, withArgs(dataArgs, pointers)),
    );
    return true;
  }

  eltwiseForward(
    ...[alg, n, x, y]: Parameters<DnnlPointwise["eltwiseForward"]>
  ): boolean {
    return this.#eltwise(alg, n, true, [x, y]);
  }

  eltwiseBackward(
    ...[alg, n, x, dy, dx]: Parameters<DnnlPointwise["eltwiseBackward"]>
  ): boolean {
    return this.#eltwise(alg, n, false, [x, dy, dx]);
  }
}
