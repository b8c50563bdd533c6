/**
 * How many OpenMP threads oneDNN's memory-bound primitives may use:
 * batch norm's, and eltwise and binary ones', each capped apart (a
 * primitive must run with the thread count it was made with, so the counts
 * are part of the primitives' cache keys).
 */
import { envValue } from "../env.ts";

/**
 * Most OpenMP threads of the batch-norm primitives: all by default, as
 * PyTorch. On a quiet 2-core machine that made an EfficientNet-B0 step's
 * batch-norm gradient 38 → 22 ms (forward 22 → 16) against one thread. Its passes
 * meet at spinning barriers, so with another job on the cores each barrier
 * waits for a time slice (669 and 353 ms on our loaded VM against 36 and
 * 43 ms on one thread): `SELFTRAIN_DNNL_BNORM_THREADS=1` for a machine
 * shared that way (`bench/kernel_profile.ts --ab --ab-path bn-threads`).
 */
let normThreads = envThreads("SELFTRAIN_DNNL_BNORM_THREADS", 1024);

/**
 * Most OpenMP threads of the eltwise and binary primitives (all by
 * default; `SELFTRAIN_DNNL_ELTWISE_THREADS=N` allows N).
 */
let eltwiseThreads = envThreads("SELFTRAIN_DNNL_ELTWISE_THREADS", 1024);

function envThreads(name: string, fallback: number): number {
  const n = Number(envValue(name) ?? fallback);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Sets the batch norm's most threads (see above); returns the previous. */
export function setDnnlBatchNormThreads(n: number): number {
  const before = normThreads;
  normThreads = Math.max(1, Math.floor(n));
  return before;
}

/** Sets the eltwise / binary most threads; returns the previous. */
export function setDnnlEltwiseThreads(n: number): number {
  const before = eltwiseThreads;
  eltwiseThreads = Math.max(1, Math.floor(n));
  return before;
}

/** The eltwise / binary most threads (their kernels keep no per-thread state). */
export function dnnlEltwiseThreads(): number {
  return eltwiseThreads;
}

/** The batch norm's most threads. */
export function dnnlBatchNormThreads(): number {
  return normThreads;
}
