/**
 * The max-pool gradient on oneDNN's pooling primitives, on every OpenMP
 * thread instead of the SIMD kernel's one: a training forward pass over x
 * writes the index of each window's maximum to a workspace (oneDNN keeps
 * the first maximum in window order, as tfjs does), then the backward pass
 * routes dy through it. NHWC tensors in the wasm heap are read in place;
 * only JIT implementations are used.
 */
import { dnnlEltwiseThreads } from "./dnnl_threads.ts";
import {
  ARG,
  check,
  DESC_BYTES,
  dims,
  DnnlError,
  FORWARD_TRAINING,
  MD_WORKSPACE,
} from "./dnnl_symbols.ts";
import { DnnlPrimitives, type DnnlRuntime, type Prim } from "./dnnl_runtime.ts";

/** oneDNN's alg kind of max pooling. */
const POOLING_MAX = 0x1ff;

/** One 2-D max pool over NHWC data, as tfjs' Conv2DInfo gives it. */
export interface PoolGeometry {
  batch: number;
  channels: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

/** The forward primitive of one geometry, with its backward one. */
interface PoolPrims extends Prim {
  backward: Prim;
  /** Bytes of the workspace (the maxima's indices). */
  workspaceBytes: number;
}

/** oneDNN's max-pool primitives, cached by geometry. */
export class DnnlMaxPoolGrad extends DnnlPrimitives<PoolPrims> {
  static readonly MAX_PRIMITIVES = 64;

  constructor(runtime: DnnlRuntime) {
    super(runtime, DnnlMaxPoolGrad.MAX_PRIMITIVES, (p) => {
      runtime.destroy(p);
      runtime.destroy(p.backward);
    });
  }

  /** NCHW logical dims over NHWC storage. */
  #md(n: number, c: number, h: number, w: number): Uint8Array {
    return this.rt.md([n, c, h, w], [h * w * c, 1, w * c, c]);
  }

  #build(g: PoolGeometry): PoolPrims {
    const rt = this.rt, s = rt.s;
    const src = this.#md(g.batch, g.channels, g.inH, g.inW);
    const dst = this.#md(g.batch, g.channels, g.outH, g.outW);
    const geometry = [
      dims([g.strideH, g.strideW]),
      dims([g.filterH, g.filterW]),
      dims([0, 0]), // oneDNN's dilation 0: dense windows
      dims([g.padTop, g.padLeft]),
      dims([g.padBottom, g.padRight]),
    ] as const;
    const fwdDesc = new Uint8Array(DESC_BYTES * 8);
    check(
      s.dnnl_pooling_v2_forward_desc_init(
        fwdDesc,
        FORWARD_TRAINING,
        POOLING_MAX,
        src,
        dst,
        ...geometry,
      ),
      "max pool forward desc",
    );
    const hint = rt.pd(fwdDesc, null);
    const bwdDesc = new Uint8Array(DESC_BYTES * 8);
    let bwd: Deno.PointerValue = null;
    try {
      check(
        s.dnnl_pooling_v2_backward_desc_init(
          bwdDesc,
          POOLING_MAX,
          src,
          dst,
          ...geometry,
        ),
        "max pool backward desc",
      );
      bwd = rt.pd(bwdDesc, hint);
      for (const pd of [hint, bwd]) {
        if (rt.implementation(pd).startsWith("ref")) {
          throw new DnnlError(`max pool [${Object.values(g)}]: no JIT kernel`);
        }
      }
    } catch (e) {
      s.dnnl_primitive_desc_destroy(hint);
      if (bwd) s.dnnl_primitive_desc_destroy(bwd);
      throw e;
    }
    const ws = s.dnnl_primitive_desc_query_md(hint, MD_WORKSPACE, 0);
    const workspaceBytes = Number(s.dnnl_memory_desc_get_size(ws));
    const prim = (
      pd: Deno.PointerValue,
      what: string,
      args: [number, Uint8Array | Deno.PointerValue][],
    ): Prim => ({
      pd,
      prim: rt.primitive(pd, what),
      mems: new Map(args.map(([arg, md]) => [arg, rt.memory(md, null)])),
    });
    const forward = prim(hint, "max pool forward", [
      [ARG.src, src],
      [ARG.dst, dst],
      [ARG.workspace, ws],
    ]);
    const backward = prim(bwd, "max pool backward", [
      [ARG.diffDst, dst],
      [ARG.diffSrc, src],
      [ARG.workspace, ws],
    ]);
    return { ...forward, backward, workspaceBytes };
  }

  #prims(g: PoolGeometry): PoolPrims | null {
    return this.cache.get(
      `${Object.values(g)} ${dnnlEltwiseThreads()}`,
      () => this.rt.withThreads(dnnlEltwiseThreads(), () => this.#build(g)),
    );
  }

  /** Bytes of the workspace of `g`; null when oneDNN has no JIT kernel for it. */
  workspaceBytes(g: PoolGeometry): number | null {
    return this.#prims(g)?.workspaceBytes ?? null;
  }

  /**
   * dx (the whole of it written) of a max pool of x, from dy; `y` and
   * `workspace` are scratch of the output's size and
   * {@link workspaceBytes}. False when unsupported.
   */
  run(
    g: PoolGeometry,
    p: Record<
      "x" | "dy" | "dx" | "y" | "workspace",
      Deno.PointerValue
    >,
  ): boolean {
    const prims = this.#prims(g);
    if (!prims) return false;
    this.rt.withThreads(dnnlEltwiseThreads(), () => {
      this.rt.run(prims, [
        [ARG.src, p.x],
        [ARG.dst, p.y],
        [ARG.workspace, p.workspace],
      ]);
      this.rt.run(prims.backward, [
        [ARG.diffDst, p.dy],
        [ARG.diffSrc, p.dx],
        [ARG.workspace, p.workspace],
      ]);
    });
    return true;
  }
}
