/**
 * Top-k accuracy of classifiers: from a score matrix, or of a model over a
 * dataset. Shared by `classify`, the pre-training recipes and the linear
 * probe.
 */
import { sequentialBatches } from "../core/data/loader.ts";
import type { TaskModel } from "../core/model.ts";
import type { Dataset } from "../core/types.ts";

/**
 * Counts, per `k`, the rows of `scores` (`[n, classes]`) whose label is
 * among the `k` highest scores (ties broken towards the lower class).
 */
export function topKHits(
  scores: Float32Array,
  classes: number,
  labels: ArrayLike<number>,
  ks: readonly number[],
): number[] {
  const hits = ks.map(() => 0);
  for (let i = 0; i < labels.length; i++) {
    const row = scores.subarray(i * classes, (i + 1) * classes);
    const target = row[labels[i]];
    // Rank of the label: classes scoring higher, or equal and earlier.
    let rank = 0;
    for (let c = 0; c < classes; c++) {
      if (row[c] > target || (row[c] === target && c < labels[i])) rank++;
    }
    ks.forEach((k, j) => {
      if (rank < k) hits[j]++;
    });
  }
  return hits;
}

/** Top-k accuracy of a classifier on `data`, per `k` (k capped at the class count). */
export async function topKAccuracy(
  model: TaskModel,
  data: Dataset,
  ks: readonly number[] = [1, 5],
  batchSize = 64,
): Promise<number[]> {
  const classes = data.classNames.length;
  const hits = ks.map(() => 0);
  for await (const batch of sequentialBatches(data, batchSize)) {
    const preds = await model.predict(batch.images, batch.samples);
    batch.images.dispose();
    const scores = new Float32Array(preds.length * classes);
    preds.forEach((p, i) => scores.set(p.probs!, i * classes));
    const labels = batch.samples.map((s) => s.label!);
    topKHits(scores, classes, labels, ks).forEach((h, j) => hits[j] += h);
  }
  return hits.map((h) => h / data.size);
}
