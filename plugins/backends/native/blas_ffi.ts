/**
 * System BLAS through Deno FFI: finds oneDNN, OpenBLAS, MKL or Accelerate by
 * well-known names (or `SELFTRAIN_BLAS=/path/to/lib`) and exposes a row-major
 * `sgemm` that works on raw pointers, so callers can hand it memory that
 * lives inside the wasm heap without copying. A library is used through
 * `cblas_sgemm` or, for oneDNN, `dnnl_sgemm` (already row-major).
 */
import { envValue } from "../env.ts";

/** Row-major single-precision GEMM: C = alpha·op(A)·op(B) + beta·C. */
export interface Blas {
  /** Path or soname of the library that was loaded. */
  readonly library: string;
  /** Which entry point `sgemm` calls. */
  readonly api: "cblas" | "dnnl";
  /** Row-major sgemm through {@link Blas.api}. Pointers are raw addresses. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Deno.PointerValue,
    lda: number,
    b: Deno.PointerValue,
    ldb: number,
    beta: number,
    c: Deno.PointerValue,
    ldc: number,
  ): void;
}

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/**
 * Library names tried in order when `SELFTRAIN_BLAS` is not set. oneDNN
 * (Debian `libdnnl2`, which python3-torch also uses) comes first: its JIT
 * sgemm ran the GEMM shapes of ResNet-18 1.3-2.9× faster than
 * Debian's OpenBLAS 0.3.21 on these AVX-512 machines (bench/gemm_bench.ts).
 */
export const BLAS_CANDIDATES: readonly string[] = [
  "libdnnl.so.3",
  "libdnnl.so.2",
  "libopenblas.so.0",
  "libopenblas.so",
  "libopenblasp-r0.so",
  "libmkl_rt.so.2",
  "libmkl_rt.so",
  "libopenblas.dylib",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
  "libopenblas.dll",
  "mkl_rt.2.dll",
];

const CBLAS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "pointer",
      "i32",
      "pointer",
      "i32",
      "f32",
      "pointer",
      "i32",
    ],
    result: "void",
  },
} as const;

// dnnl_sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
// row-major, 'N' / 'T' flags, int64 sizes; returns a dnnl_status_t.
const DNNL = {
  dnnl_sgemm: {
    parameters: [
      "u8",
      "u8",
      "i64",
      "i64",
      "i64",
      "f32",
      "pointer",
      "i64",
      "pointer",
      "i64",
      "f32",
      "pointer",
      "i64",
    ],
    result: "i32",
  },
} as const;

const CHAR_N = 78;
const CHAR_T = 84;

// oneDNN's Debian build runs on OpenMP: omp_set_num_threads resolves
// through libdnnl's own dependency on libgomp.
const THREAD_SETTERS = [
  "openblas_set_num_threads",
  "MKL_Set_Num_Threads",
  "omp_set_num_threads",
] as const;

let cached: Blas | null = null;
let lastError = "";

function candidates(): string[] {
  const env = envValue("SELFTRAIN_BLAS");
  return env ? [env] : [...BLAS_CANDIDATES];
}

/** Number of BLAS threads: `SELFTRAIN_BLAS_THREADS`, else all cores. */
export function threadCount(): number {
  const env = envValue("SELFTRAIN_BLAS_THREADS");
  const n = env ? Number(env) : navigator.hardwareConcurrency;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function setThreads(path: string): void {
  for (const name of THREAD_SETTERS) {
    try {
      const lib = Deno.dlopen(path, {
        [name]: { parameters: ["i32"], result: "void" },
      } as Record<string, Deno.ForeignFunction>);
      (lib.symbols[name] as (n: number) => void)(threadCount());
      return; // keep the handle open: closing could unload the library
    } catch {
      // symbol absent in this BLAS (e.g. Accelerate): keep its default
    }
  }
}

/**
 * OpenBLAS worker threads spin for 2^28 cycles after each call by default.
 * Between GEMMs the JS thread runs im2col and the elementwise kernels, and
 * a spinning worker on the other core halved training speed in about half
 * of our benchmark runs. 2^12 cycles (about 2 µs) keeps them awake across
 * back-to-back calls, such as a Winograd conv's 16 GEMMs, and asleep during
 * the JS thread's own work: ResNet-18 inference ran 5-7% faster than with
 * 2^4 (sleep at once) in four alternating runs, training the same. The
 * library reads this when it loads, so it is set before dlopen unless the
 * user set it.
 */
function shortenOpenBlasSpin(): void {
  try {
    if (Deno.env.get("OPENBLAS_THREAD_TIMEOUT") === undefined) {
      Deno.env.set("OPENBLAS_THREAD_TIMEOUT", "12");
    }
  } catch {
    // no env permission: keep the library's default
  }
}

function cblasOf(path: string): Blas {
  const f = Deno.dlopen(path, CBLAS).symbols.cblas_sgemm;
  return {
    library: path,
    api: "cblas",
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      f(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    },
  };
}

/**
 * Products of at most this many multiply-adds (about 0.1 ms on one core)
 * run on the calling thread. oneDNN's sgemm forks an OpenMP team for every
 * call; for the small products of squeeze-excitation, a dense head or a
 * reduction (a ones vector times a matrix) the fork and join cost more than
 * the product, and on a loaded machine, where the second OpenMP thread
 * waits for a core, 10-100× more: EfficientNet-B0's 52 gradient Sums took
 * 573 ms per step with two threads and 2.4 ms with one on a shared 2-core
 * VM.
 */
export const SMALL_GEMM_MACS = 2 ** 22;

/** `omp_set_num_threads` of the OpenMP runtime `path` uses, or null. */
function ompThreadSetter(path: string): ((n: number) => void) | null {
  try {
    const f = Deno.dlopen(path, {
      omp_set_num_threads: { parameters: ["i32"], result: "void" },
    }).symbols.omp_set_num_threads;
    return (n) => f(n);
  } catch {
    return null;
  }
}

function dnnlOf(path: string): Blas {
  const f = Deno.dlopen(path, DNNL).symbols.dnnl_sgemm;
  const setOmp = ompThreadSetter(path);
  const threads = threadCount();
  return {
    library: path,
    api: "dnnl",
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      const small = setOmp !== null && threads > 1 &&
        m * n * k <= SMALL_GEMM_MACS;
      if (small) setOmp(1);
      const status = f(
        transA ? CHAR_T : CHAR_N,
        transB ? CHAR_T : CHAR_N,
        BigInt(m),
        BigInt(n),
        BigInt(k),
        alpha,
        a,
        BigInt(lda),
        b,
        BigInt(ldb),
        beta,
        c,
        BigInt(ldc),
      );
      if (small) setOmp(threads);
      if (status !== 0) {
        throw new Error(
          `${path}: dnnl_sgemm ${m}x${n}x${k} failed with dnnl_status_t ${status}`,
        );
      }
    },
  };
}

/**
 * Opens the BLAS at `path` (a soname or a file) through `cblas_sgemm`, else
 * `dnnl_sgemm`, and sets its thread count; throws a one-line error naming
 * `path` when it cannot be opened or has neither entry point.
 */
export function openBlasLibrary(path: string): Blas {
  try {
    Deno.dlopen(path, {});
  } catch (e) {
    throw new Error(
      `${path}: cannot open (${(e as Error).message.split("\n")[0]})`,
    );
  }
  let blas: Blas;
  try {
    blas = cblasOf(path);
  } catch {
    try {
      blas = dnnlOf(path);
    } catch {
      throw new Error(`${path}: has neither cblas_sgemm nor dnnl_sgemm`);
    }
  }
  setThreads(path);
  return blas;
}

/**
 * Loads the first library that opens and has `cblas_sgemm` or `dnnl_sgemm`;
 * null when none does
 * (the reason is kept for {@link blasUnavailableReason}).
 */
export function loadBlas(): Blas | null {
  if (cached) return cached;
  shortenOpenBlasSpin();
  const tried: string[] = [];
  for (const path of candidates()) {
    try {
      cached = openBlasLibrary(path);
      return cached;
    } catch (e) {
      tried.push((e as Error).message);
    }
  }
  lastError = `no BLAS library found; tried ${tried.join(", ")}. ` +
    `Install one (Debian: apt-get install libdnnl2 or libopenblas0) or set SELFTRAIN_BLAS=/path/to/libblas`;
  return null;
}

/** Why {@link loadBlas} returned null, in one line. */
export function blasUnavailableReason(): string {
  return lastError;
}
