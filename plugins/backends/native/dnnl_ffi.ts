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
  CPU,
  DESC_BYTES,
  dims,
  type DnnlConv,
  DnnlError,
  F32,
  FORWARD_TRAINING,
  handle,
  MD,
  MD_DIFF_DST,
  MD_DST,
  plainLayouts,
  QUERY_IMPL_INFO,
  type Symbols,
  TAG_ANY,
} from "./dnnl_symbols.ts";

/** A primitive, its memory objects and the filter reorder it needs. */
interface Prim {
  pd: Deno.PointerValue;
  prim: Deno.PointerValue;
  /** Memory objects by argument id, their data handles set per call. */
  mems: Map<number, Deno.PointerValue>;
  /** Filter in oneDNN's layout, when it is not plain HWIO. */
  reorder?: {
    pd: Deno.PointerValue;
    prim: Deno.PointerValue;
    plain: Deno.PointerValue;
    buffer: Float32Array;
  };
}

type Kind = "forward" | "forward+bias" | "data" | "weights";

/** {@link DnnlConv} on one opened libdnnl (see dnnl_loader.ts). */
export class Dnnl implements DnnlConv {
  readonly library: string;
  readonly #s: Symbols;
  readonly #engine: Deno.PointerValue;
  readonly #stream: Deno.PointerValue;
  /** By geometry key and kind; null: unsupported. */
  readonly #cache = new Map<string, Prim | null>();
  readonly #impls = new Set<string>();
  static readonly MAX_PRIMITIVES = 384;

  constructor(library: string, s: Symbols) {
    this.library = library;
    this.#s = s;
    const e = new BigUint64Array(1);
    check(s.dnnl_engine_create(e, CPU, 0n), `${library}: engine`);
    this.#engine = handle(e);
    const st = new BigUint64Array(1);
    check(s.dnnl_stream_create(st, this.#engine, 1), `${library}: stream`);
    this.#stream = handle(st);
  }

  /** A plain memory desc, or oneDNN's choice (`any`) without strides. */
  #md(shape: number[], strides: number[] | null): Uint8Array {
    const md = new Uint8Array(DESC_BYTES);
    const [s, n, d] = [this.#s, shape.length, dims(shape)];
    check(
      strides
        ? s.dnnl_memory_desc_init_by_strides(md, n, d, F32, dims(strides))
        : s.dnnl_memory_desc_init_by_tag(md, n, d, F32, TAG_ANY),
      "memory desc",
    );
    return md;
  }

  /** Plain memory descs of a geometry in oneDNN's logical dim order. */
  #plain(g: ConvGeometry) {
    const l = plainLayouts(g);
    return {
      src: this.#md(...l.src),
      dst: this.#md(...l.dst),
      weights: this.#md(...l.weights),
      anyWeights: this.#md(l.weights[0], null),
      bias: this.#md([g.outC], [1]),
    };
  }

  #geometryArgs(g: ConvGeometry): BigInt64Array[] {
    return [
      dims([g.strideH, g.strideW]),
      dims([g.dilationH - 1, g.dilationW - 1]),
      dims([g.padTop, g.padLeft]),
      dims([g.padBottom, g.padRight]),
    ];
  }

  #pd(desc: Uint8Array, hint: Deno.PointerValue): Deno.PointerValue {
    const pd = new BigUint64Array(1);
    check(
      this.#s.dnnl_primitive_desc_create(pd, desc, null, this.#engine, hint),
      "primitive desc",
    );
    return handle(pd);
  }

  #forwardPd(g: ConvGeometry, withBias: boolean): Deno.PointerValue {
    const p = this.#plain(g);
    const desc = new Uint8Array(DESC_BYTES * 4);
    check(
      this.#s.dnnl_dilated_convolution_forward_desc_init(
        desc,
        FORWARD_TRAINING,
        CONVOLUTION_DIRECT,
        p.src,
        p.anyWeights,
        withBias ? p.bias : new Uint8Array(DESC_BYTES),
        p.dst,
        ...this.#geometryArgs(g) as [
          BigInt64Array,
          BigInt64Array,
          BigInt64Array,
          BigInt64Array,
        ],
      ),
      "forward desc",
    );
    return this.#pd(desc, null);
  }

  #build(g: ConvGeometry, kind: Kind): Prim {
    const s = this.#s, p = this.#plain(g);
    const geo = this.#geometryArgs(g) as [
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
      BigInt64Array,
    ];
    let pd: Deno.PointerValue;
    if (kind === "forward" || kind === "forward+bias") {
      pd = this.#forwardPd(g, kind === "forward+bias");
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
        pd = this.#pd(desc, hint);
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
      const md = s.dnnl_primitive_desc_query_md(pd, query, 0);
      if (!md || !s.dnnl_memory_desc_equal(md, expected)) {
        s.dnnl_primitive_desc_destroy(pd);
        throw new DnnlError(`${kind}: oneDNN wants another activation layout`);
      }
    }
    const prim = new BigUint64Array(1);
    check(s.dnnl_primitive_create(prim, pd), `${kind} primitive`);
    const out: Prim = { pd, prim: handle(prim), mems: new Map() };
    const info = new BigUint64Array(1);
    if (
      s.dnnl_primitive_desc_query(pd, QUERY_IMPL_INFO, 0, info) === 0 && info[0]
    ) {
      this.#impls.add(new Deno.UnsafePointerView(handle(info)!).getCString());
    }
    const memOf = (
      md: Deno.PointerValue | Uint8Array,
      data: Deno.PointerValue,
    ) => {
      const m = new BigUint64Array(1);
      check(
        s.dnnl_memory_create(m, asPointer(md), this.#engine, data),
        "memory",
      );
      return handle(m);
    };
    for (const [, arg, md] of plainArgs) out.mems.set(arg, memOf(md, null));
    if (kind === "forward+bias") out.mems.set(ARG.bias, memOf(p.bias, null));
    // The filter (or its gradient) in oneDNN's layout, reordered from or to HWIO.
    const wQuery = kind === "weights" ? MD.diffWeights : MD.weights;
    const wArg = kind === "weights" ? ARG.diffWeights : ARG.weights;
    const wmd = s.dnnl_primitive_desc_query_md(pd, wQuery, 0)!;
    if (s.dnnl_memory_desc_equal(wmd, p.weights)) {
      out.mems.set(wArg, memOf(p.weights, null));
    } else {
      const buffer = new Float32Array(
        Number(s.dnnl_memory_desc_get_size(wmd)) / 4,
      );
      const blocked = memOf(wmd, Deno.UnsafePointer.of(buffer));
      const plain = memOf(p.weights, null);
      const [from, to] = kind === "weights"
        ? [wmd, p.weights]
        : [p.weights, wmd];
      const rpd = new BigUint64Array(1);
      check(
        s.dnnl_reorder_primitive_desc_create(
          rpd,
          asPointer(from),
          this.#engine,
          asPointer(to),
          this.#engine,
          null,
        ),
        "reorder desc",
      );
      const rprim = new BigUint64Array(1);
      check(s.dnnl_primitive_create(rprim, handle(rpd)), "reorder primitive");
      out.mems.set(wArg, blocked);
      out.reorder = { pd: handle(rpd), prim: handle(rprim), plain, buffer };
    }
    return out;
  }

  #destroy(p: Prim): void {
    const s = this.#s;
    for (const m of p.mems.values()) s.dnnl_memory_destroy(m);
    s.dnnl_primitive_destroy(p.prim);
    s.dnnl_primitive_desc_destroy(p.pd);
    if (p.reorder) {
      s.dnnl_memory_destroy(p.reorder.plain);
      s.dnnl_primitive_destroy(p.reorder.prim);
      s.dnnl_primitive_desc_destroy(p.reorder.pd);
    }
  }

  #get(g: ConvGeometry, kind: Kind): Prim | null {
    const key = `${kind} ${Object.values(g).join(",")}`;
    if (this.#cache.has(key)) {
      const hit = this.#cache.get(key)!;
      this.#cache.delete(key); // most recently used last
      this.#cache.set(key, hit);
      return hit;
    }
    let made: Prim | null = null;
    try {
      made = this.#build(g, kind);
    } catch (e) {
      if (!(e instanceof DnnlError)) throw e;
    }
    this.#cache.set(key, made);
    if (this.#cache.size > Dnnl.MAX_PRIMITIVES) {
      const [oldKey, old] = this.#cache.entries().next().value!;
      this.#cache.delete(oldKey);
      if (old) this.#destroy(old);
    }
    return made;
  }

  #exec(
    p: Prim,
    data: Map<number, Deno.PointerValue>,
    filterArg: number,
    filterIsOutput: boolean,
  ): void {
    const s = this.#s;
    const run = (
      prim: Deno.PointerValue,
      args: [number, Deno.PointerValue][],
    ) => {
      const a = new BigUint64Array(args.length * 2);
      args.forEach(([id, mem], i) => {
        a[2 * i] = BigInt(id);
        a[2 * i + 1] = BigInt(Deno.UnsafePointer.value(mem));
      });
      check(
        s.dnnl_primitive_execute(
          prim,
          this.#stream,
          args.length,
          new Uint8Array(a.buffer),
        ),
        "execute",
      );
    };
    for (const [arg, ptr] of data) {
      if (arg === filterArg && p.reorder) {
        check(
          s.dnnl_memory_set_data_handle(p.reorder.plain, ptr),
          "data handle",
        );
      } else {
        check(
          s.dnnl_memory_set_data_handle(p.mems.get(arg)!, ptr),
          "data handle",
        );
      }
    }
    const blocked = p.mems.get(filterArg)!;
    if (p.reorder && !filterIsOutput) {
      run(p.reorder.prim, [[ARG.src, p.reorder.plain], [ARG.dst, blocked]]);
    }
    run(p.prim, [...p.mems]);
    if (p.reorder && filterIsOutput) {
      run(p.reorder.prim, [[ARG.src, blocked], [ARG.dst, p.reorder.plain]]);
    }
  }

  forward(
    g: ConvGeometry,
    x: Deno.PointerValue,
    w: Deno.PointerValue,
    bias: Deno.PointerValue | null,
    y: Deno.PointerValue,
  ): boolean {
    const data: [number, Deno.PointerValue][] = [
      [ARG.src, x],
      [ARG.weights, w],
      [ARG.dst, y],
    ];
    if (bias) data.push([ARG.bias, bias]);
    return this.#run(g, bias ? "forward+bias" : "forward", data);
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
  ): boolean {
    const p = this.#get(g, kind);
    if (!p) return false;
    const filterArg = kind === "weights" ? ARG.diffWeights : ARG.weights;
    this.#exec(p, new Map(data), filterArg, kind === "weights");
    return true;
  }

  implementations(): string[] {
    return [...this.#impls];
  }
}
