/**
 * Keeps a convolution's im2col columns from the forward pass for its filter
 * gradient: Conv2DBackpropFilter needs col(x) again, and rebuilding it was
 * about half of all im2col time in a ResNet training step. Columns are kept
 * only while a gradient tape records (tfjs `gradientDepth` > 0), are handed
 * over (and freed) by the first backward use, and entries whose input
 * tensor has been disposed are dropped on every insertion, so nothing
 * outlives its training step. A byte budget bounds what is held at once.
 */
import * as tf from "@tensorflow/tfjs-core";
import { free, hasData, type WasmBackendLike } from "./heap.ts";
import { envValue } from "../env.ts";

interface Entry {
  backend: WasmBackendLike;
  dataId: object;
  key: string;
  col: tf.TensorInfo;
  bytes: number;
}

const entries: Entry[] = [];
let heldBytes = 0;

let budget: number | undefined;

/**
 * Most bytes of columns held at once (`SELFTRAIN_COLUMN_CACHE_MB`, 512),
 * read once: this runs on every training convolution.
 */
function budgetBytes(): number {
  budget ??= readBudget();
  return budget;
}

function readBudget(): number {
  const env = envValue("SELFTRAIN_COLUMN_CACHE_MB");
  const mb = env === undefined ? 512 : Number(env);
  return Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : 512 * 2 ** 20;
}

function isAlive(e: Entry): boolean {
  return hasData(e.backend, e.dataId);
}

function drop(i: number): void {
  const [e] = entries.splice(i, 1);
  heldBytes -= e.bytes;
  free(e.backend, e.col);
}

/** Drops entries whose input tensor no longer exists. */
function sweep(): void {
  for (let i = entries.length - 1; i >= 0; i--) {
    if (!isAlive(entries[i])) drop(i);
  }
}

/** True while a gradient tape is recording the current forward pass. */
export function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/**
 * Offers the columns of input `x` under `key` (the conv geometry). Returns
 * true when the cache took ownership; false means the caller frees them.
 */
export function keepColumns(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  key: string,
  col: tf.TensorInfo,
): boolean {
  sweep();
  const bytes = tf.util.sizeFromShape(col.shape) * 4;
  if (!recordingGradients() || heldBytes + bytes > budgetBytes()) return false;
  entries.push({ backend, dataId: x.dataId as object, key, col, bytes });
  heldBytes += bytes;
  return true;
}

/** Takes the kept columns of `x` for `key` (the caller frees them). */
export function takeColumns(
  x: tf.TensorInfo,
  key: string,
): tf.TensorInfo | null {
  sweep();
  const i = entries.findIndex((e) => e.dataId === x.dataId && e.key === key);
  if (i < 0) return null;
  const [e] = entries.splice(i, 1);
  heldBytes -= e.bytes;
  return e.col;
}

/** Bytes of columns held now (for tests of the no-leak rule). */
export function heldColumnBytes(): number {
  return heldBytes;
}
