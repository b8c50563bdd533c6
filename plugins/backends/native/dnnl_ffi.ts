/**
 * oneDNN (v2 C API, Debian `libdnnl2`) convolutions through Deno FFI: the
 * same JIT kernels PyTorch's CPU build runs, on NHWC activations and HWIO
 * filters that stay in the wasm heap. oneDNN picks its own blocked filter
 * layout (format `any`); filters are reordered into it per call, which
 * costs well under a millisecond even for 3×3×512×512.
 *
 * One convolution geometry gets up to three primitives (forward, backward
 * data, backward weights), created on first use and kept in a bounded
 * cache (loaded by dnnl_loader.ts). A geometry oneDNN rejects, or that would not read our plain
 * layouts in place, is remembered as unsupported and the caller falls back.
 */

import {
  ARG,
  asPointer,
  check,
  type ConvGeometry,
  CONVOLUTION_DIRECT,
  DESC_BYTES,
  dims,
  type DnnlConv,
  FORWARD_INFERENCE,
  FORWARD_TRAINING,
  handle,
  MD,
  MD_DIFF_DST,
  MD_DST,
  plainLayouts,
  type PostOp,
} from "./dnnl_symbols.ts";
import { DnnlPrimitives, type DnnlRuntime, type Prim } from "./dnnl_runtime.ts";

/** A primitive, its memory objects and the filter reorder it needs. */
interface ConvPrim extends Prim {
  /**
   * Filter in oneDNN's layout, when it is not plain HWIO: the reorder
   * between it and the plain filter memory (`mems` src and dst, fixed).
   */
  reorder?: Prim & { plain: Deno.PointerValue; buffer: Float32Array };
}

type Kind = "forward" | "forward+bias" | "data" | "weights";

/** {@link DnnlConv} on one opened libdnnl (see dnnl_loader.ts). */
export class Dnnl extends DnnlPrimitives<ConvPrim> implements DnnlConv {
  static readonly MAX_PRIMITIVES = 384;

  constructor(runtime: DnnlRuntime) {
    super(runtime, Dnnl.MAX_PRIMITIVES, (p) => {
      runtime.destroy(p);
      if (!p.reorder) return;
      runtime.s.dnnl_memory_destroy(p.reorder.plain);
      runtime.s.dnnl_primitive_destroy(p.reorder.prim);
      runtime.s.dnnl_primitive_desc_destroy(p.reorder.pd);
    });
  }

  /** Plain memory descs of a geometry in oneDNN's logical dim order. */
  #plain(g: ConvGeometry) {
    const l = plainLayouts(g), rt = this.rt;
    return {
      src: rt.md(...l.src),
      dst: rt.md(...l.dst),
      weights: rt.md(...l.weights),
      anyWeights: rt.md(l.weights[0], null),
      bias: rt.md([g.outC], [1]),
    };
  }

  #geometryArgs(
    g: ConvGeometry,
  ): [BigInt64Array, BigInt64Array, BigInt64Array, BigInt64Array] {
    return [
      dims([g.strideH, g.strideW]),
      dims([g.dilationH - 1, g.dilationW - 1]),
      dims([g.padTop, g.padLeft]),
      dims([g.padBottom, g.padRight]),
    ];
  }

  #forwardPd(
    g: ConvGeometry,
    withBias: boolean,
    act?: PostOp,
  ): Deno.PointerValue {
    const p = this.#plain(g);
    const desc = new Uint8Array(DESC_BYTES * 4);
    check(
      this.rt.s.dnnl_dilated_convolution_forward_desc_init(
        desc,
        act ? FORWARD_INFERENCE : FORWARD_TRAINING,
        CONVOLUTION_DIRECT,
        p.src,
        p.anyWeights,
        withBias ? p.bias : new Uint8Array(DESC_BYTES),
        p.dst,
        ...this.#geometryArgs(g),
      ),
      "forward desc",
    );
    return this.rt.pd(desc, null, act);
  }

  #build(g: ConvGeometry, kind: Kind, act?: PostOp): ConvPrim {
    const rt = this.rt, s = rt.s, p = this.#plain(g);
    const geo = this.#geometryArgs(g);
    let pd: Deno.PointerValue;
    if (kind === "forward" || kind === "forward+bias") {
      pd = this.#forwardPd(g, kind === "forward+bias", act);
    } else {
      const hint = this.#forwardPd(g, false);
      const desc = new Uint8Array(DESC_BYTES * 4);
      check(
        kind === "data"
          ? s.dnnl_dilated_convolution_backward_data_desc_init(
            desc,
            CONVOLUTION_DIRECT,
            p.src,
            p.anyWeights,
            p.dst,
            ...geo,
          )
          : s.dnnl_dilated_convolution_backward_weights_desc_init(
            desc,
            CONVOLUTION_DIRECT,
            p.src,
            p.anyWeights,
            null,
            p.dst,
            ...geo,
          ),
        `${kind} desc`,
      );
      try {
        pd = rt.pd(desc, hint);
      } finally {
        s.dnnl_primitive_desc_destroy(hint);
      }
    }
    // Activations must be read and written in place, as we described them.
    const plainArgs: [number, number, Uint8Array][] = kind === "data"
      ? [[MD.diffSrc, ARG.diffSrc, p.src], [MD_DIFF_DST, ARG.diffDst, p.dst]]
      : kind === "weights"
      ? [[MD.src, ARG.src, p.src], [MD_DIFF_DST, ARG.diffDst, p.dst]]
      : [[MD.src, ARG.src, p.src], [MD_DST, ARG.dst, p.dst]];
    for (const [query, , expected] of plainArgs) {
      rt.requireLayout(pd, query, expected, kind);
    }
    const out: ConvPrim = {
      pd,
      prim: rt.primitive(pd, kind),
      mems: new Map(),
    };
    for (const [, arg, md] of plainArgs) out.mems.set(arg, rt.memory(md, null));
    if (kind === "forward+bias") {
      out.mems.set(ARG.bias, rt.memory(p.bias, null));
    }
    // The filter (or its gradient) in oneDNN's layout, reordered from or to HWIO.
    const wQuery = kind === "weights" ? MD.diffWeights : MD.weights;
    const wArg = kind === "weights" ? ARG.diffWeights : ARG.weights;
    const wmd = s.dnnl_primitive_desc_query_md(pd, wQuery, 0)!;
    if (s.dnnl_memory_desc_equal(wmd, p.weights)) {
      out.mems.set(wArg, rt.memory(p.weights, null));
    } else {
      const buffer = new Float32Array(
        Number(s.dnnl_memory_desc_get_size(wmd)) / 4,
      );
      const blocked = rt.memory(wmd, Deno.UnsafePointer.of(buffer));
      const plain = rt.memory(p.weights, null);
      const [from, to] = kind === "weights"
        ? [wmd, p.weights]
        : [p.weights, wmd];
      const rpd = new BigUint64Array(1);
      check(
        s.dnnl_reorder_primitive_desc_create(
          rpd,
          asPointer(from),
          rt.engine,
          asPointer(to),
          rt.engine,
          null,
        ),
        "reorder desc",
      );
      const rprim = new BigUint64Array(1);
      check(s.dnnl_primitive_create(rprim, handle(rpd)), "reorder primitive");
      out.mems.set(wArg, blocked);
      const [src, dst] = kind === "weights"
        ? [blocked, plain]
        : [plain, blocked];
      out.reorder = {
        pd: handle(rpd),
        prim: handle(rprim),
        mems: new Map([[ARG.src, src], [ARG.dst, dst]]),
        plain,
        buffer,
      };
    }
    return out;
  }

  #exec(
    p: ConvPrim,
    data: [number, Deno.PointerValue][],
    filterArg: number,
    filterIsOutput: boolean,
  ): void {
    const rt = this.rt;
    for (const [arg, ptr] of data) {
      rt.setData(
        arg === filterArg && p.reorder ? p.reorder.plain : p.mems.get(arg)!,
        ptr,
      );
    }
    // The reorder's memory objects are fixed: its arguments pack once.
    if (p.reorder && !filterIsOutput) rt.executeOwn(p.reorder);
    rt.executeOwn(p);
    if (p.reorder && filterIsOutput) rt.executeOwn(p.reorder);
  }

  forward(
    g: ConvGeometry,
    x: Deno.PointerValue,
    w: Deno.PointerValue,
    bias: Deno.PointerValue | null,
    y: Deno.PointerValue,
    act?: PostOp,
  ): boolean {
    const data: [number, Deno.PointerValue][] = [
      [ARG.src, x],
      [ARG.weights, w],
      [ARG.dst, y],
    ];
    if (bias) data.push([ARG.bias, bias]);
    return this.#run(g, bias ? "forward+bias" : "forward", data, act);
  }

  backwardData(
    g: ConvGeometry,
    dy: Deno.PointerValue,
    w: Deno.PointerValue,
    dx: Deno.PointerValue,
  ): boolean {
    return this.#run(g, "data", [[ARG.diffDst, dy], [ARG.weights, w], [
      ARG.diffSrc,
      dx,
    ]]);
  }

  backwardWeights(
    g: ConvGeometry,
    x: Deno.PointerValue,
    dy: Deno.PointerValue,
    dw: Deno.PointerValue,
  ): boolean {
    return this.#run(g, "weights", [[ARG.src, x], [ARG.diffDst, dy], [
      ARG.diffWeights,
      dw,
    ]]);
  }

  /** Runs `kind`'s primitive of `g` on `data`; false when unsupported. */
  #run(
    g: ConvGeometry,
    kind: Kind,
    data: [number, Deno.PointerValue][],
    act?: PostOp,
  ): boolean {
    const key = `${kind}${act ? "+" + act : ""} ${Object.values(g).join(",")}`;
    const p = this.cache.get(key, () => this.#build(g, kind, act));
    if (!p) return false;
    const filterArg = kind === "weights" ? ARG.diffWeights : ARG.weights;
    this.#exec(p, data, filterArg, kind === "weights");
    return true;
  }
}
