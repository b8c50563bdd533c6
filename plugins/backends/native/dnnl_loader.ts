/**
 * Loads oneDNN once: libdnnl.so.2 with the v2 C API, its OpenMP threads set
 * like the BLAS's, one engine and stream (dnnl_runtime.ts) shared by the
 * convolutions (dnnl_ffi.ts; `SELFTRAIN_DNNL_CONV=0` keeps them off) and
 * the batch-norm / eltwise / binary / max-pool-gradient primitives
 * (dnnl_pointwise.ts, dnnl_binary.ts, dnnl_pool.ts;
 * `SELFTRAIN_DNNL_ELTWISE=0` keeps them off).
 */
import { threadCount } from "./blas_ffi.ts";
import { DnnlBinary } from "./dnnl_binary.ts";
import { DnnlMaxPoolGrad } from "./dnnl_pool.ts";
import { Dnnl } from "./dnnl_ffi.ts";
import { DnnlPointwisePrimitives } from "./dnnl_pointwise.ts";
import { DnnlRuntime } from "./dnnl_runtime.ts";
import { type DnnlConv, SYMBOLS } from "./dnnl_symbols.ts";
import { envOff } from "../env.ts";

/**
 * oneDNN's Debian build runs on OpenMP: one thread per core by default, set
 * to the BLAS's count; returns the setter (null: another threading runtime,
 * whose default is kept).
 */
function setOmpThreads(path: string): ((n: number) => void) | null {
  try {
    const set = Deno.dlopen(path, {
      omp_set_num_threads: { parameters: ["i32"], result: "void" },
    }).symbols.omp_set_num_threads;
    set(threadCount());
    return set;
  } catch {
    return null;
  }
}

const PATH = "libdnnl.so.2";
let runtime: DnnlRuntime | null | undefined;
let openWhy = "";

/** The shared runtime, or null (reason in `openWhy`). */
function openDnnl(): DnnlRuntime | null {
  if (runtime !== undefined) return runtime;
  runtime = null;
  try {
    const lib = Deno.dlopen(PATH, SYMBOLS);
    const version = new Deno.UnsafePointerView(lib.symbols.dnnl_version()!);
    const major = version.getInt32(0);
    if (major !== 2) {
      openWhy = `${PATH}: version ${major} (the v2 C API is needed)`;
      return null;
    }
    const setThreads = setOmpThreads(PATH);
    runtime = new DnnlRuntime(PATH, lib.symbols, setThreads, threadCount());
  } catch (e) {
    openWhy = `${PATH}: ${(e as Error).message.split("\n")[0]}`;
  }
  return runtime;
}

/** A lazily made oneDNN part that an environment variable can turn off. */
function part<T>(env: string, make: (rt: DnnlRuntime) => T) {
  let made: T | null | undefined;
  let why = "";
  return {
    load(): T | null {
      if (made !== undefined) return made;
      made = null;
      if (envOff(env)) {
        why = `turned off by ${env}=0`;
        return null;
      }
      const rt = openDnnl();
      if (rt) made = make(rt);
      else why = openWhy;
      return made;
    },
    why: () => why,
  };
}

const conv = part("SELFTRAIN_DNNL_CONV", (rt) => new Dnnl(rt));
const pointwise = part(
  "SELFTRAIN_DNNL_ELTWISE",
  (rt) => ({
    primitives: new DnnlPointwisePrimitives(rt),
    binary: new DnnlBinary(rt),
    pool: new DnnlMaxPoolGrad(rt),
  }),
);

/**
 * oneDNN's convolutions when libdnnl.so.2 (the v2 C API) loads and
 * `SELFTRAIN_DNNL_CONV` is not 0; null otherwise ({@link dnnlUnavailableReason}).
 */
export function loadDnnlConv(): DnnlConv | null {
  return conv.load();
}

/** Why {@link loadDnnlConv} returned null, in one line. */
export function dnnlUnavailableReason(): string {
  return conv.why();
}

/**
 * oneDNN's batch-norm and eltwise primitives when libdnnl.so.2 loads and
 * `SELFTRAIN_DNNL_ELTWISE` is not 0; null otherwise
 * ({@link dnnlPointwiseUnavailableReason}).
 */
export function loadDnnlPointwise(): DnnlPointwisePrimitives | null {
  return pointwise.load()?.primitives ?? null;
}

/** oneDNN's binary primitives, on and off with {@link loadDnnlPointwise}. */
export function loadDnnlBinary(): DnnlBinary | null {
  return pointwise.load()?.binary ?? null;
}

/** oneDNN's max-pool gradient, on and off with {@link loadDnnlPointwise}. */
export function loadDnnlPool(): DnnlMaxPoolGrad | null {
  return pointwise.load()?.pool ?? null;
}

/** Why {@link loadDnnlPointwise} returned null, in one line. */
export function dnnlPointwiseUnavailableReason(): string {
  return pointwise.why();
}
