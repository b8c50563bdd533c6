/**
 * A multithreaded single-precision GEMM for the `wasm` backend. tfjs' wasm
 * heap is an unshared memory that only the main thread can see, and its
 * XNNPACK matmul runs on one thread; this pool keeps one shared
 * WebAssembly.Memory that the main thread and `threads - 1` workers each
 * instantiate gemm.c on. A call copies op(A) and op(B) in, every thread
 * claims tiles of C from an atomic counter until none are left (row blocks,
 * cut into column blocks too when C is wide and short), and C is copied
 * back out: the copies are O(m·k + k·n + m·n) against the O(m·n·k) product.
 *
 * Workers are node:worker_threads workers, unref'd so that an idle pool
 * never keeps the process alive, and block in Atomics.wait between jobs.
 */
import { Worker } from "node:worker_threads";
import { GEMM_WASM_BASE64 } from "./simd/gemm_wasm.ts";

/** Exports of gemm.c; addresses are byte offsets in the pool's memory. */
interface GemmExports {
  gemm_tiles(...args: number[]): void;
}

// gemm.c's blocking: NR-wide micro-tiles, KC-deep panels, MC-row A blocks
// (MC is a multiple of its 6-row micro-tile, so it is also the row tile).
const NR = 8, KC = 256, MC = 96;
/** Widest column tile: its packed B panel (KC × this) stays in L2. */
const MAX_TILE_COLS = 512;
const PAGE = 65536;
/** Byte offset of the tile counter; buffers follow from BUFFERS on. */
const COUNTER = 2 * PAGE - 64, BUFFERS = 2 * PAGE;

// Control block (Int32): the job generation, finished-worker count, stop
// flag, gemm_tiles' shared arguments, then each thread's pack buffers.
const SEQ = 0, DONE = 1, STOP = 2, ARGS = 3, NARGS = 14;
const PER_THREAD = ARGS + NARGS;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
parentPort.once("message", ({ module, memory, control, index }) => {
  const g = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(control);
  // Read the generation before saying ready: the first job may follow at once.
  let seen = Atomics.load(c, ${SEQ});
  parentPort.postMessage("ready");
  for (;;) {
    Atomics.wait(c, ${SEQ}, seen);
    seen = Atomics.load(c, ${SEQ});
    if (c[${STOP}]) return;
    const args = Array.from(c.subarray(${ARGS}, ${ARGS + NARGS}));
    const s = ${PER_THREAD} + 2 * index;
    g.gemm_tiles(...args, c[s], c[s + 1]);
    Atomics.add(c, ${DONE}, 1);
    Atomics.notify(c, ${DONE});
  }
});`;

/** One GEMM's operands: row-major views of op(A)'s and op(B)'s storage. */
export interface GemmOperands {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  /** A's storage: m×k (or k×m when transposed), contiguous. */
  a: Float32Array;
  /** B's storage: k×n (or n×k when transposed), contiguous. */
  b: Float32Array;
}

/** Options of {@link GemmPool.start}. */
export interface GemmPoolOptions {
  /**
   * Products smaller than this many flops (2·m·n·k) run on the calling
   * thread alone: waking a worker costs tens of microseconds. Default 4e6.
   */
  minParallelFlops?: number;
}

/** The thread pool; `gemm` writes C = op(A)·op(B) into `out` (m×n). */
export class GemmPool {
  /** Threads that compute each product, the main thread included. */
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #g: GemmExports;
  readonly #control: Int32Array;
  readonly #workers: Worker[];
  readonly #minParallelFlops: number;

  private constructor(
    threads: number,
    memory: WebAssembly.Memory,
    g: GemmExports,
    control: Int32Array,
    workers: Worker[],
    minParallelFlops: number,
  ) {
    this.threads = threads;
    this.#memory = memory;
    this.#g = g;
    this.#control = control;
    this.#workers = workers;
    this.#minParallelFlops = minParallelFlops;
  }

  /**
   * Compiles gemm.c, starts `threads - 1` workers and warms every thread
   * up; rejects when workers or shared memory are unavailable.
   */
  static async start(
    threads: number,
    options: GemmPoolOptions = {},
  ): Promise<GemmPool> {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(
        `GemmPool: threads must be an integer >= 1, got ${threads}`,
      );
    }
    const bytes = Uint8Array.from(
      atob(GEMM_WASM_BASE64),
      (ch) => ch.charCodeAt(0),
    );
    const module = new WebAssembly.Module(bytes);
    const memory = new WebAssembly.Memory({
      initial: BUFFERS / PAGE,
      maximum: 65536,
      shared: true,
    });
    const g = new WebAssembly.Instance(module, { env: { memory } })
      .exports as unknown as GemmExports;
    const control = new Int32Array(
      new SharedArrayBuffer(4 * (PER_THREAD + 2 * threads)),
    );
    const workers: Worker[] = [];
    try {
      for (let index = 1; index < threads; index++) {
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        workers.push(worker);
        await new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
          worker.postMessage({
            module,
            memory,
            control: control.buffer,
            index,
          });
        });
        worker.unref();
      }
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    const pool = new GemmPool(
      threads,
      memory,
      g,
      control,
      workers,
      options.minParallelFlops ?? 4e6,
    );
    pool.#warmUp();
    return pool;
  }

  /**
   * V8 first runs wasm on its baseline compiler (several times slower) and
   * has no on-stack replacement for it, so one long product would run
   * entirely unoptimised: a few small products on every thread trigger
   * the optimised tier first.
   */
  #warmUp(): void {
    const m = 96, n = 64, k = 300;
    const a = new Float32Array(m * k), b = new Float32Array(k * n);
    const out = new Float32Array(m * n);
    for (let i = 0; i < 8; i++) {
      this.#run({ transA: false, transB: false, m, n, k, a, b }, out, true);
    }
  }

  /** Stops the workers; the pool must not be used afterwards. */
  close(): void {
    this.#control[STOP] = 1;
    Atomics.add(this.#control, SEQ, 1);
    Atomics.notify(this.#control, SEQ);
    for (const w of this.#workers) w.terminate();
  }

  /** Makes the memory at least `bytes` long. */
  #reserve(bytes: number, what: string): void {
    const have = this.#memory.buffer.byteLength;
    if (bytes <= have) return;
    try {
      this.#memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch {
      throw new Error(
        `plugins/backends/kernels/gemm_pool.ts: the ${what} product needs ${
          Math.ceil(bytes / 2 ** 20)
        } MiB of shared memory, more than WebAssembly gives (4 GiB); use a smaller batch or SELFTRAIN_WASM_THREADS=0`,
      );
    }
  }

  /**
   * Bytes of the shared workspace: it grows to the largest product seen
   * and is reused, so a run's memory is flat after its first step.
   */
  get workspaceBytes(): number {
    return this.#memory.buffer.byteLength;
  }

  /** C = op(A)·op(B) into `out` (row-major m×n). */
  gemm(op: GemmOperands, out: Float32Array): void {
    this.#run(op, out, 2 * op.m * op.n * op.k >= this.#minParallelFlops);
  }

  #run(op: GemmOperands, out: Float32Array, parallel: boolean): void {
    const { m, n, k } = op;
    if (m === 0 || n === 0) return;
    if (k === 0) {
      out.fill(0, 0, m * n);
      return;
    }
    const threads = parallel ? this.threads : 1;
    // Enough tiles for every thread to claim several; columns are cut only
    // when rows alone give too few (C wide and short).
    const rowTiles = Math.ceil(m / MC);
    const colTiles = Math.max(
      Math.ceil(n / MAX_TILE_COLS),
      Math.ceil(4 * threads / rowTiles),
    );
    const tileCols = Math.ceil(Math.ceil(n / colTiles) / NR) * NR;
    const apackBytes = MC * KC * 4, bpackBytes = KC * tileCols * 4;
    const aAt = BUFFERS + threads * (apackBytes + bpackBytes);
    const bAt = aAt + m * k * 4, cAt = bAt + k * n * 4;
    this.#reserve(cAt + m * n * 4, `${m}×${n}×${k}`);
    const f32 = new Float32Array(this.#memory.buffer);
    f32.set(op.a.subarray(0, m * k), aAt >> 2);
    f32.set(op.b.subarray(0, k * n), bAt >> 2);
    Atomics.store(new Int32Array(this.#memory.buffer, COUNTER, 1), 0, 0);
    const args = [
      op.transA ? 1 : 0,
      op.transB ? 1 : 0,
      m,
      n,
      k,
      aAt,
      op.transA ? m : k,
      bAt,
      op.transB ? k : n,
      cAt,
      n,
      COUNTER,
      MC,
      tileCols,
    ];
    const c = this.#control;
    c.set(args, ARGS);
    for (let t = 0; t < threads; t++) {
      c[PER_THREAD + 2 * t] = BUFFERS + t * (apackBytes + bpackBytes);
      c[PER_THREAD + 2 * t + 1] = c[PER_THREAD + 2 * t] + apackBytes;
    }
    const workers = threads - 1;
    if (workers > 0) {
      Atomics.store(c, DONE, 0);
      Atomics.add(c, SEQ, 1);
      Atomics.notify(c, SEQ);
    }
    this.#g.gemm_tiles(...args, c[PER_THREAD], c[PER_THREAD + 1]);
    for (let done = Atomics.load(c, DONE); done < workers;) {
      Atomics.wait(c, DONE, done);
      done = Atomics.load(c, DONE);
    }
    out.set(f32.subarray(cAt >> 2, (cAt >> 2) + m * n));
  }
}
