/**
 * What every oneDNN primitive we run needs (v2 C API through FFI): one CPU
 * engine and stream, plain memory descriptors, primitive creation, memory
 * objects whose data handles point into the wasm heap per call, execution,
 * and a bounded cache of primitives by shape. The convolutions
 * (dnnl_ffi.ts) and the batch-norm / eltwise primitives (dnnl_pointwise.ts)
 * are built on it.
 */
import {
  asPointer,
  check,
  CPU,
  DESC_BYTES,
  dims,
  DnnlError,
  F32,
  handle,
  POST_OPS,
  type PostOp,
  QUERY_IMPL_INFO,
  type Symbols,
  TAG_ANY,
} from "./dnnl_symbols.ts";

/** A primitive with its memory objects by argument id (handles set per call). */
export interface Prim {
  pd: Deno.PointerValue;
  prim: Deno.PointerValue;
  mems: Map<number, Deno.PointerValue>;
  /** `mems` as oneDNN's argument array, packed on the first run (fixed after the build). */
  packed?: Uint8Array;
}

/** (argument id, memory object) pairs as `dnnl_exec_arg_t[]` bytes. */
function packArgs(args: [number, Deno.PointerValue][]): Uint8Array {
  const a = new BigUint64Array(args.length * 2);
  args.forEach(([id, mem], i) => {
    a[2 * i] = BigInt(id);
    a[2 * i + 1] = BigInt(Deno.UnsafePointer.value(mem));
  });
  return new Uint8Array(a.buffer);
}

/** One engine and stream on an opened libdnnl, and the calls around them. */
export class DnnlRuntime {
  /** Path of the library. */
  readonly library: string;
  /** The opened library's functions. */
  readonly s: Symbols;
  readonly engine: Deno.PointerValue;
  readonly stream: Deno.PointerValue;
  readonly #impls = new Set<string>();

  /** OpenMP threads of a primitive unless {@link withThreads} says less. */
  readonly threads: number;
  readonly #setThreads: ((n: number) => void) | null;

  constructor(
    library: string,
    s: Symbols,
    setThreads: ((n: number) => void) | null = null,
    threads = 1,
  ) {
    this.library = library;
    this.s = s;
    this.#setThreads = setThreads;
    this.threads = setThreads ? threads : 1;
    const e = new BigUint64Array(1);
    check(s.dnnl_engine_create(e, CPU, 0n), `${library}: engine`);
    this.engine = handle(e);
    const st = new BigUint64Array(1);
    check(s.dnnl_stream_create(st, this.engine, 1), `${library}: stream`);
    this.stream = handle(st);
  }

  /**
   * Runs `fn` (a primitive's creation or execution) with at most `n`
   * OpenMP threads; a primitive must run with the count it was made with.
   */
  withThreads<T>(n: number, fn: () => T): T {
    if (!this.#setThreads || n >= this.threads) return fn();
    this.#setThreads(n);
    try {
      return fn();
    } finally {
      this.#setThreads(this.threads);
    }
  }

  /** A plain f32 memory desc, or oneDNN's choice (`any`) without strides. */
  md(shape: number[], strides: number[] | null): Uint8Array {
    const md = new Uint8Array(DESC_BYTES);
    const [s, n, d] = [this.s, shape.length, dims(shape)];
    check(
      strides
        ? s.dnnl_memory_desc_init_by_strides(md, n, d, F32, dims(strides))
        : s.dnnl_memory_desc_init_by_tag(md, n, d, F32, TAG_ANY),
      "memory desc",
    );
    return md;
  }

  /**
   * The primitive descriptor of an operation descriptor (`hint`: forward
   * pd), with `postOp` as an eltwise post-op when given.
   */
  pd(
    desc: Uint8Array,
    hint: Deno.PointerValue,
    postOp?: PostOp,
  ): Deno.PointerValue {
    const pd = new BigUint64Array(1);
    const attr = postOp ? this.#postOpAttr(postOp) : null;
    try {
      check(
        this.s.dnnl_primitive_desc_create(pd, desc, attr, this.engine, hint),
        "primitive desc",
      );
    } finally {
      if (attr) this.s.dnnl_primitive_attr_destroy(attr);
    }
    return handle(pd);
  }

  /** A primitive attr holding one eltwise post-op (the pd copies it). */
  #postOpAttr(op: PostOp): Deno.PointerValue {
    const s = this.s, out = new BigUint64Array(1);
    check(s.dnnl_post_ops_create(out), "post ops");
    const ops = handle(out);
    try {
      const [alg, alpha, beta] = POST_OPS[op];
      check(s.dnnl_post_ops_append_eltwise(ops, 1, alg, alpha, beta), op);
      check(s.dnnl_primitive_attr_create(out), "attr");
      const attr = handle(out);
      const status = s.dnnl_primitive_attr_set_post_ops(attr, ops);
      if (status !== 0) s.dnnl_primitive_attr_destroy(attr);
      check(status, "attr post ops");
      return attr;
    } finally {
      s.dnnl_post_ops_destroy(ops);
    }
  }

  /** Throws {@link DnnlError} (pd destroyed) unless `query`'s md is `expected`. */
  requireLayout(
    pd: Deno.PointerValue,
    query: number,
    expected: Uint8Array,
    what: string,
  ): void {
    const md = this.s.dnnl_primitive_desc_query_md(pd, query, 0);
    if (!md || !this.s.dnnl_memory_desc_equal(md, expected)) {
      this.s.dnnl_primitive_desc_destroy(pd);
      throw new DnnlError(`${what}: oneDNN wants another layout`);
    }
  }

  /** oneDNN's name of the implementation `pd` chose ("" if unknown). */
  implementation(pd: Deno.PointerValue): string {
    const info = new BigUint64Array(1);
    return this.s.dnnl_primitive_desc_query(pd, QUERY_IMPL_INFO, 0, info) ===
          0 && info[0]
      ? new Deno.UnsafePointerView(handle(info)!).getCString()
      : "";
  }

  /** The primitive of `pd`; its implementation name is recorded. */
  primitive(pd: Deno.PointerValue, what: string): Deno.PointerValue {
    const prim = new BigUint64Array(1);
    check(this.s.dnnl_primitive_create(prim, pd), `${what} primitive`);
    const name = this.implementation(pd);
    if (name) this.#impls.add(name);
    return handle(prim);
  }

  /** A memory object of `md` on `data` (null: set per call). */
  memory(
    md: Deno.PointerValue | Uint8Array,
    data: Deno.PointerValue,
  ): Deno.PointerValue {
    const m = new BigUint64Array(1);
    check(
      this.s.dnnl_memory_create(m, asPointer(md), this.engine, data),
      "memory",
    );
    return handle(m);
  }

  /** Points memory object `mem` at `data`. */
  setData(mem: Deno.PointerValue, data: Deno.PointerValue): void {
    check(this.s.dnnl_memory_set_data_handle(mem, data), "data handle");
  }

  /** Runs `p` on its own memory objects and waits for it. */
  executeOwn(p: Prim): void {
    p.packed ??= packArgs([...p.mems]);
    this.#execute(p.prim, p.mems.size, p.packed);
  }

  #execute(prim: Deno.PointerValue, count: number, args: Uint8Array): void {
    check(
      this.s.dnnl_primitive_execute(prim, this.stream, count, args),
      "execute",
    );
  }

  /** Sets `p`'s data handles from `data` (by argument id) and runs it. */
  run(p: Prim, data: [number, Deno.PointerValue][]): void {
    for (const [arg, ptr] of data) this.setData(p.mems.get(arg)!, ptr);
    this.executeOwn(p);
  }

  /** Frees `p`'s memory objects, primitive and descriptor. */
  destroy(p: Prim): void {
    for (const m of p.mems.values()) this.s.dnnl_memory_destroy(m);
    this.s.dnnl_primitive_destroy(p.prim);
    this.s.dnnl_primitive_desc_destroy(p.pd);
  }

  /** oneDNN's implementation names of the primitives created so far. */
  implementations(): string[] {
    return [...this.#impls];
  }
}

/**
 * Primitives by key, least recently used dropped (and destroyed) past
 * `max`; a key whose build threw {@link DnnlError} is kept as null
 * (unsupported: the caller falls back).
 */
export class PrimitiveCache<T> {
  readonly #entries = new Map<string, T | null>();
  readonly #max: number;
  readonly #destroy: (value: T) => void;

  constructor(max: number, destroy: (value: T) => void) {
    this.#max = max;
    this.#destroy = destroy;
  }

  /** Number of keys held (supported or not). */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `key`, built on first use; null when unsupported. */
  get(key: string, build: () => T): T | null {
    if (this.#entries.has(key)) {
      const hit = this.#entries.get(key)!;
      this.#entries.delete(key); // most recently used last
      this.#entries.set(key, hit);
      return hit;
    }
    let made: T | null = null;
    try {
      made = build();
    } catch (e) {
      if (!(e instanceof DnnlError)) throw e;
    }
    this.#entries.set(key, made);
    if (this.#entries.size > this.#max) {
      const [oldKey, old] = this.#entries.entries().next().value!;
      this.#entries.delete(oldKey);
      if (old) this.#destroy(old);
    }
    return made;
  }
}

/**
 * What each family of primitives (convolutions, batch norm / eltwise,
 * binary) holds: the runtime and a bounded cache of its primitives, freed
 * on eviction by `destroy` (the runtime's by default).
 */
export class DnnlPrimitives<P extends Prim> {
  /** Path of the library. */
  readonly library: string;
  /** The engine, stream and calls the primitives run through. */
  protected readonly rt: DnnlRuntime;
  /** Primitives by key; null: unsupported. */
  protected readonly cache: PrimitiveCache<P>;

  constructor(
    runtime: DnnlRuntime,
    maxPrimitives: number,
    destroy: (p: P) => void = (p) => runtime.destroy(p),
  ) {
    this.library = runtime.library;
    this.rt = runtime;
    this.cache = new PrimitiveCache(maxPrimitives, destroy);
  }

  /** Primitives held (for tests: the cache stays bounded). */
  get cached(): number {
    return this.cache.size;
  }

  /** oneDNN's implementation names of the primitives created so far. */
  implementations(): string[] {
    return this.rt.implementations();
  }
}
