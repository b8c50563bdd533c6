/**
 * oneDNN's binary primitive (add, sub, mul, div with the second operand
 * broadcast) on dense row-major tensors in the wasm heap: the
 * squeeze-excitation products, gradient sums and scalings of a training
 * step on every OpenMP thread instead of the wasm backend's single one.
 * Shapes are collapsed to the fewest dims first (runs of dims that are all
 * broadcast, or all not, merge), so that `[8, 64, 64, 32] × [8, 1, 1, 32]`
 * becomes `[8, 4096, 32] × [8, 1, 32]`. Only JIT implementations are used:
 * a broadcast that only oneDNN's reference kernel takes is declined.
 */
import { dnnlEltwiseThreads } from "./dnnl_threads.ts";
import { BINARY, check, DESC_BYTES } from "./dnnl_symbols.ts";
import { ARG } from "./dnnl_symbols.ts";
import { DnnlPrimitives, type DnnlRuntime, type Prim } from "./dnnl_runtime.ts";
import { DnnlError } from "./dnnl_symbols.ts";

/** A binary operation oneDNN runs here. */
export type BinaryAlg = keyof typeof BINARY;

/**
 * `out` and the broadcast operand's shape `b` (same rank, each dim equal to
 * `out`'s or 1) with unit dims of `out` dropped and neighbouring dims of the
 * same kind merged; `[[1], [1]]` for a single element.
 */
export function collapseBroadcast(
  out: number[],
  b: number[],
): [number[], number[]] {
  const o: number[] = [], s: number[] = [];
  let lastFull: boolean | null = null;
  out.forEach((d, i) => {
    if (d === 1) return;
    const full = b[i] === d;
    if (full === lastFull) {
      o[o.length - 1] *= d;
      s[s.length - 1] *= full ? d : 1;
    } else {
      o.push(d);
      s.push(full ? d : 1);
    }
    lastFull = full;
  });
  return o.length ? [o, s] : [[1], [1]];
}

/** Row-major strides of `shape`. */
function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

/** oneDNN's binary primitives, cached by operation and collapsed shapes. */
export class DnnlBinary extends DnnlPrimitives<Prim> {
  static readonly MAX_PRIMITIVES = 256;

  constructor(runtime: DnnlRuntime) {
    super(runtime, DnnlBinary.MAX_PRIMITIVES);
  }

  #build(alg: BinaryAlg, out: number[], b: number[]): Prim {
    const rt = this.rt;
    const dst = rt.md(out, stridesOf(out)), src1 = rt.md(b, stridesOf(b));
    const desc = new Uint8Array(DESC_BYTES * 4);
    check(
      rt.s.dnnl_binary_desc_init(desc, BINARY[alg], dst, src1, dst),
      "binary desc",
    );
    const pd = rt.pd(desc, null);
    if (rt.implementation(pd).startsWith("ref")) {
      rt.s.dnnl_primitive_desc_destroy(pd);
      throw new DnnlError(`binary ${alg} [${out}] [${b}]: no JIT kernel`);
    }
    const p: Prim = { pd, prim: rt.primitive(pd, "binary"), mems: new Map() };
    p.mems.set(ARG.src, rt.memory(dst, null));
    p.mems.set(ARG.src1, rt.memory(src1, null));
    p.mems.set(ARG.dst, rt.memory(dst, null));
    return p;
  }

  /**
   * y = a ∘ b, `a` and `y` of shape `out`, `b` of shape `bShape` (same
   * rank, dims equal to `out`'s or 1); false when oneDNN declines.
   */
  run(
    alg: BinaryAlg,
    out: number[],
    bShape: number[],
    a: Deno.PointerValue,
    b: Deno.PointerValue,
    y: Deno.PointerValue,
  ): boolean {
    const [o, s] = collapseBroadcast(out, bShape);
    const p = this.cache.get(
      `${alg} ${o} ${s}`,
      () => this.#build(alg, o, s),
    );
    if (!p) return false;
    this.rt.withThreads(
      dnnlEltwiseThreads(),
      () => this.rt.run(p, [[ARG.src, a], [ARG.src1, b], [ARG.dst, y]]),
    );
    return true;
  }
}
