/**
 * System BLAS through Deno FFI: finds OpenBLAS, MKL or Accelerate by
 * well-known names (or `SELFTRAIN_BLAS=/path/to/lib`) and exposes a row-major
 * `sgemm` that works on raw pointers, so callers can hand it memory that
 * lives inside the wasm heap without copying.
 */

/** Row-major single-precision GEMM: C = alpha·op(A)·op(B) + beta·C. */
export interface Blas {
  /** Path or soname of the library that was loaded. */
  readonly library: string;
  /** Calls `cblas_sgemm` in row-major order. Pointers are raw addresses. */
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

/** Library names tried in order when `SELFTRAIN_BLAS` is not set. */
export const BLAS_CANDIDATES: readonly string[] = [
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

const SYMBOLS = {
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

const THREAD_SETTERS = [
  "openblas_set_num_threads",
  "MKL_Set_Num_Threads",
] as const;

let cached: Blas | null = null;
let lastError = "";

function candidates(): string[] {
  let env: string | undefined;
  try {
    env = Deno.env.get("SELFTRAIN_BLAS");
  } catch {
    env = undefined;
  }
  return env ? [env] : [...BLAS_CANDIDATES];
}

/** Number of BLAS threads: `SELFTRAIN_BLAS_THREADS`, else all cores. */
function threadCount(): number {
  let env: string | undefined;
  try {
    env = Deno.env.get("SELFTRAIN_BLAS_THREADS");
  } catch {
    env = undefined;
  }
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

/**
 * Loads the first BLAS that opens and has `cblas_sgemm`; null when none does
 * (the reason is kept for {@link blasUnavailableReason}).
 */
export function loadBlas(): Blas | null {
  if (cached) return cached;
  shortenOpenBlasSpin();
  const tried: string[] = [];
  for (const path of candidates()) {
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      setThreads(path);
      const f = lib.symbols.cblas_sgemm;
      cached = {
        library: path,
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
      return cached;
    } catch (e) {
      tried.push(`${path} (${(e as Error).message.split("\n")[0]})`);
    }
  }
  lastError = `no BLAS library found; tried ${tried.join(", ")}. ` +
    `Install one (Debian: apt-get install libopenblas0) or set SELFTRAIN_BLAS=/path/to/libblas`;
  return null;
}

/** Why {@link loadBlas} returned null, in one line. */
export function blasUnavailableReason(): string {
  return lastError;
}
