/**
 * Winograd F(2×2, 3×3) for 3×3, stride-1, dilation-1 convolutions: each
 * 2×2 output block comes from a 4×4 input tile as Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A,
 * so the GEMM work is 16 products per 4 outputs instead of 36 (2.25× fewer
 * flops than im2col + GEMM):
 *   V [16, T, Cin]  = Bᵀ d B of every tile (T = batch · tilesH · tilesW,
 *                     plus a padding row, see paddedTiles)
 *   U [16, Cin, Cout] = G g Gᵀ of the filter
 *   M [16, T, Cout] = V · U, one BatchMatMul of the backend (16 GEMMs)
 *   Y [N, H, W, Cout] = Aᵀ M A, edge tiles cropped.
 * The transforms (winograd_transforms.ts) run as simd/kernels.c on the
 * heap. `SELFTRAIN_WINOGRAD=0` turns the path off.
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  alloc,
  callKernel,
  free,
  hasData,
  heapF32,
  offsetOf,
  type WasmBackendLike,
} from "./heap.ts";
import {
  keepColumns,
  recordingGradients,
  takeColumns,
} from "./column_cache.ts";
import { activationCode, type Epilogue } from "./epilogue.ts";
import { simdAvailable } from "./simd/mod.ts";
import {
  heapWinogradFilter,
  heapWinogradFilterGrad,
  heapWinogradInput,
  heapWinogradOutput,
  heapWinogradOutputGrad,
  tileCount,
  type Tiling,
  tilingOf,
} from "./winograd_transforms.ts";
import { envOff } from "../env.ts";

type Info = tf.backend_util.Conv2DInfo;

function envDisabled(): boolean {
  return envOff("SELFTRAIN_WINOGRAD");
}

let enabled: boolean | undefined;

/** Turns the Winograd path on or off; returns the previous setting. */
export function setWinogradEnabled(on: boolean): boolean {
  const before = winogradEnabled();
  enabled = on;
  return before;
}

/** Whether the Winograd path is on (default on; `SELFTRAIN_WINOGRAD=0`). */
export function winogradEnabled(): boolean {
  enabled ??= !envDisabled();
  return enabled;
}

const allowed = new Set<string>();

/**
 * Lets convolutions of the tfjs backend `backendName` take the Winograd
 * path. Only for a backend whose BatchMatMul is fast on 16 batched GEMMs:
 * native's BLAS is, and so is wasm's GEMM thread pool (wasm opts in when
 * the pool starts); XNNPACK's single-threaded one made dx of ResNet-18's
 * first stages 2× slower.
 */
export function allowWinograd(backendName: string): void {
  allowed.add(backendName);
}

/**
 * Whether `info` can take the Winograd path on `backendName`. Below 16
 * channels either way the GEMMs are too thin for the 2.25× flop saving to
 * beat the transforms' memory traffic, and such layers are a negligible
 * share of a network's time. Not without the SIMD kernels: the JS
 * transforms made a 32×32×64 conv 2.5× slower than im2col + GEMM.
 */
function qualifies(info: Info, backendName: string): boolean {
  return allowed.has(backendName) && winogradEnabled() && simdAvailable() &&
    info.filterHeight === 3 && info.filterWidth === 3 &&
    info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 &&
    info.inChannels >= 16 && info.outChannels >= 16;
}

/**
 * Fewest tiles for Winograd where the filter transform cannot be cached
 * (training, the input gradient): that transform and dW's costs scale with
 * Cin·Cout, the GEMM saving with T·Cin·Cout. Training ResNet-18 at batch 8
 * measured (conv forward + dx + dW, on / off): 32×32×64 (T = 2048) 1.40×,
 * 16×16×128 (512) 1.29×, 8×8×256 (128) 1.05×, 4×4×512 (32) 0.82×.
 */
const UNCACHED_MIN_TILES = 256;

/**
 * Whether a training step runs `info`'s forward conv and filter gradient
 * by Winograd (V kept from one for the other, like im2col's columns).
 */
export function useWinogradTraining(info: Info, backendName: string): boolean {
  return qualifies(info, backendName) &&
    tileCount(tilingOf(info)) >= UNCACHED_MIN_TILES;
}

/**
 * Whether Conv2D of `info` takes the Winograd path on `backendName` now:
 * at inference always (where it qualifies), else (under a tape, or a
 * filter made for this call, as the stride-1 input gradient's) as
 * {@link useWinogradTraining}.
 */
export function useWinograd(
  info: Info,
  backendName: string,
  cacheableFilter: boolean,
): boolean {
  return cacheableFilter && !recordingGradients()
    ? qualifies(info, backendName)
    : useWinogradTraining(info, backendName);
}

/** Counters for tests and benchmarks. */
export interface WinogradStats {
  /** Convolutions that took the Winograd path. */
  convs: number;
  /** Filter gradients computed by Winograd. */
  filterGrads: number;
  /** Filter transforms computed (cache misses and training calls). */
  filterTransforms: number;
  /** Transformed filters held by the inference cache now. */
  cachedFilters: number;
  /** Bytes those hold. */
  cachedBytes: number;
}

const counts = { convs: 0, filterTransforms: 0, filterGrads: 0 };

interface Cached {
  backend: WasmBackendLike;
  dataId: object;
  u: tf.TensorInfo;
  bytes: number;
}

/** Transformed filters by the filter's dataId (insertion order = age). */
const filterCache = new Map<object, Cached>();
let cachedBytes = 0;
/** Most bytes of transformed filters held (ResNet-18's take ~67 MB). */
const CACHE_BUDGET_BYTES = 256 * 2 ** 20;

function dropCached(e: Cached): void {
  filterCache.delete(e.dataId);
  cachedBytes -= e.bytes;
  free(e.backend, e.u);
}

/** Frees every cached filter transform (and those of dead filters). */
export function clearWinogradCache(): void {
  for (const e of [...filterCache.values()]) dropCached(e);
}

/** The current counters. */
export function winogradStats(): WinogradStats {
  return { ...counts, cachedFilters: filterCache.size, cachedBytes };
}

function transformFilter(
  backend: WasmBackendLike,
  filter: tf.TensorInfo,
  t: Tiling,
): tf.TensorInfo {
  counts.filterTransforms++;
  const u = alloc(backend, [16, t.inC, t.outC]);
  heapWinogradFilter(
    backend,
    offsetOf(backend, filter),
    offsetOf(backend, u),
    t.inC * t.outC,
  );
  return u;
}

/**
 * U for `filter`: while no gradient tape records and `cacheable`, kept by
 * the filter's dataId (a variable gets a new dataId on every assign; a
 * disposed filter's entry is freed on the next lookup). Returns whether the
 * caller owns (frees) it.
 */
function filterTransform(
  backend: WasmBackendLike,
  filter: tf.TensorInfo,
  t: Tiling,
  cacheable: boolean,
): [tf.TensorInfo, boolean] {
  for (const e of [...filterCache.values()]) {
    if (!hasData(e.backend, e.dataId)) dropCached(e);
  }
  if (!cacheable || recordingGradients()) {
    return [transformFilter(backend, filter, t), true];
  }
  const dataId = filter.dataId as object;
  const hit = filterCache.get(dataId);
  if (hit?.backend === backend) return [hit.u, false];
  if (hit) dropCached(hit); // same dataId on another backend instance
  const u = transformFilter(backend, filter, t);
  const bytes = 64 * t.inC * t.outC;
  if (bytes > CACHE_BUDGET_BYTES) return [u, true];
  for (const e of filterCache.values()) {
    if (cachedBytes + bytes <= CACHE_BUDGET_BYTES) break;
    dropCached(e);
  }
  filterCache.set(dataId, { backend, dataId, u, bytes });
  cachedBytes += bytes;
  return [u, false];
}

/** A new [16, planeTiles, channels] tensor with its padding rows zeroed. */
function allocPlanes(
  backend: WasmBackendLike,
  t: Tiling,
  channels: number,
): tf.TensorInfo {
  const P = t.planeTiles, T = tileCount(t);
  const out = alloc(backend, [16, P, channels]), off = offsetOf(backend, out);
  for (let k = 0; k < 16 && P > T; k++) {
    const at = off + (k * P + T) * channels;
    heapF32(backend).fill(0, at, at + (P - T) * channels);
  }
  return out;
}

function inputTransform(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  t: Tiling,
): tf.TensorInfo {
  const v = allocPlanes(backend, t, t.inC);
  heapWinogradInput(backend, offsetOf(backend, x), offsetOf(backend, v), t);
  return v;
}

/** The column-cache key of V (the forward pass hands it to dW). */
function keyOf(t: Tiling): string {
  return `winograd ${t.padTop} ${t.padLeft} ${t.outH} ${t.outW} ${t.planeTiles}`;
}

/**
 * Conv2D forward by Winograd F(2×2, 3×3) for a geometry that passed
 * {@link useWinograd}; the GEMMs are `backendName`'s BatchMatMul. With
 * `cacheable` false (a filter made for this call only) U is never cached.
 * The output transform applies `epilogue` (FusedConv2D's bias, activation).
 */
export function winogradConv2d(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: Info,
  cacheable = true,
  epilogue: Epilogue = { activation: "linear" },
): tf.TensorInfo {
  counts.convs++;
  const t = tilingOf(info);
  const v = inputTransform(backend, x, t);
  const [u, owned] = filterTransform(backend, filter, t, cacheable);
  const m = callKernel(backendName, "BatchMatMul", backend, { a: v, b: u });
  if (!keepColumns(backend, x, keyOf(t), v)) free(backend, v);
  if (owned) free(backend, u);
  const y = alloc(backend, info.outShape);
  heapWinogradOutput(
    backend,
    offsetOf(backend, m),
    offsetOf(backend, y),
    t,
    epilogue.bias ? offsetOf(backend, epilogue.bias) : null,
    activationCode(epilogue),
  );
  free(backend, m);
  return y;
}

/**
 * Conv2DBackpropFilter by Winograd, for a geometry that passed
 * {@link useWinogradTraining}: with dM = A·dy·Aᵀ (the gradient of the output
 * transform), dU = Vᵀ·dM as one BatchMatMul and dW = Gᵀ·dU·G. V is the
 * forward pass's when the column cache kept it.
 */
export function winogradBackpropFilter(
  backendName: string,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: Info,
): tf.TensorInfo {
  counts.filterGrads++;
  const t = tilingOf(info);
  const v = takeColumns(x, keyOf(t)) ?? inputTransform(backend, x, t);
  const dm = allocPlanes(backend, t, t.outC);
  heapWinogradOutputGrad(
    backend,
    offsetOf(backend, dy),
    offsetOf(backend, dm),
    t,
  );
  const du = callKernel(backendName, "BatchMatMul", backend, { a: v, b: dm }, {
    transposeA: true,
  });
  free(backend, v);
  free(backend, dm);
  const dw = alloc(backend, [3, 3, t.inC, t.outC]);
  heapWinogradFilterGrad(
    backend,
    offsetOf(backend, du),
    offsetOf(backend, dw),
    t.inC * t.outC,
  );
  free(backend, du);
  return dw;
}
