/**
 * Loads oneDNN's convolutions (dnnl_ffi.ts) once: libdnnl.so.2 with the v2
 * C API, its OpenMP threads set like the BLAS's; `SELFTRAIN_DNNL_CONV=0`
 * keeps it off.
 */
import { threadCount } from "./blas_ffi.ts";
import { Dnnl } from "./dnnl_ffi.ts";
import { type DnnlConv, SYMBOLS } from "./dnnl_symbols.ts";

/** oneDNN's Debian build runs on OpenMP: one thread per core by default. */
function setOmpThreads(path: string): void {
  try {
    Deno.dlopen(path, {
      omp_set_num_threads: { parameters: ["i32"], result: "void" },
    }).symbols.omp_set_num_threads(threadCount());
  } catch {
    // another threading runtime: keep its default
  }
}

let loaded: DnnlConv | null | undefined;
let why = "";

function disabled(): boolean {
  try {
    return Deno.env.get("SELFTRAIN_DNNL_CONV") === "0";
  } catch {
    return false;
  }
}

/**
 * oneDNN's convolutions when libdnnl.so.2 (the v2 C API) loads and
 * `SELFTRAIN_DNNL_CONV` is not 0; null otherwise ({@link dnnlUnavailableReason}).
 */
export function loadDnnlConv(): DnnlConv | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (disabled()) {
    why = "turned off by SELFTRAIN_DNNL_CONV=0";
    return null;
  }
  const path = "libdnnl.so.2";
  try {
    const lib = Deno.dlopen(path, SYMBOLS);
    const version = new Deno.UnsafePointerView(lib.symbols.dnnl_version()!);
    const major = version.getInt32(0);
    if (major !== 2) {
      why = `${path}: version ${major} (the v2 C API is needed)`;
      return null;
    }
    setOmpThreads(path);
    loaded = new Dnnl(path, lib.symbols);
  } catch (e) {
    why = `${path}: ${(e as Error).message.split("\n")[0]}`;
  }
  return loaded;
}

/** Why {@link loadDnnlConv} returned null, in one line. */
export function dnnlUnavailableReason(): string {
  return why;
}
