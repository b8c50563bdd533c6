/**
 * Generic operations on batch-first tensor trees (head outputs, encoded
 * targets): what lets self-training split one forward pass into its human
 * and pseudo halves without knowing the task.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TensorTree } from "../core/contracts.ts";

/** Rows `[start, start + size)` of every leaf, along the batch axis. */
export function sliceTree<T extends TensorTree>(
  tree: T,
  start: number,
  size: number,
): T {
  if (tree instanceof tf.Tensor) {
    const begin = tree.shape.map((_, i) => (i === 0 ? start : 0));
    const extent = tree.shape.map((d, i) => (i === 0 ? size : d));
    return tf.slice(tree, begin, extent) as T;
  }
  if (Array.isArray(tree)) {
    return tree.map((t) => sliceTree(t, start, size)) as T;
  }
  const out: Record<string, TensorTree> = {};
  for (const [k, v] of Object.entries(tree as Record<string, TensorTree>)) {
    out[k] = sliceTree(v, start, size);
  }
  return out as T;
}
