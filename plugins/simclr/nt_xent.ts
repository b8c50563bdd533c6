/**
 * NT-Xent, SimCLR's contrastive loss (normalised temperature-scaled cross
 * entropy). For 2N embeddings where rows `i` and `i + N` are two views of
 * one image, each row's positive is its partner and its negatives are the
 * other 2N − 2 rows:
 *
 *   ℓ(i) = −log( exp(sim(zᵢ, zₚ)/τ) / Σ_{k ≠ i} exp(sim(zᵢ, z_k)/τ) )
 *
 * with sim the cosine similarity; the loss is the mean over all 2N rows.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Rows scaled to unit length (rows of zeros stay zero). */
export function l2Normalize(z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(z), 1, true), 1e-12));
    return tf.div(z, norm) as tf.Tensor2D;
  });
}

/** Index of each row's positive: `i + N` for the first half, `i − N` after. */
export function positiveIndices(rows: number): Int32Array {
  const n = rows / 2;
  return Int32Array.from({ length: rows }, (_, i) => i < n ? i + n : i - n);
}

/** The logits NT-Xent normalises: cosine / τ, the diagonal pushed far down. */
function similarityLogits(z: tf.Tensor2D, temperature: number): tf.Tensor2D {
  const rows = z.shape[0];
  const zn = l2Normalize(z);
  const sim = tf.div(tf.matMul(zn, zn, false, true), temperature);
  // A row is never its own negative: push the diagonal to -inf in effect.
  return tf.sub(sim, tf.mul(tf.eye(rows), 1e9)) as tf.Tensor2D;
}

/**
 * Fraction of rows whose most similar other row is their partner view: how
 * well the instance-discrimination task is solved (not differentiable; for
 * logging).
 */
export function ntXentAccuracy(z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const nearest = tf.argMax(similarityLogits(z, 1), 1);
    const partner = tf.tensor1d(positiveIndices(z.shape[0]), "int32");
    return tf.mean(tf.cast(tf.equal(nearest, partner), "float32")) as tf.Scalar;
  });
}

/**
 * Mean NT-Xent of `z` (`[2N, d]`, views of image `i` at rows `i` and
 * `i + N`) at temperature `temperature`.
 */
export function ntXentLoss(z: tf.Tensor2D, temperature: number): tf.Scalar {
  const rows = z.shape[0];
  if (rows < 2 || rows % 2 !== 0) {
    throw new Error(`nt-xent: need an even number >= 2 of rows, got ${rows}`);
  }
  if (!(temperature > 0)) {
    throw new Error(`nt-xent: temperature must be > 0, got ${temperature}`);
  }
  return tf.tidy(() => {
    const logits = similarityLogits(z, temperature);
    const targets = tf.oneHot(
      tf.tensor1d(positiveIndices(rows), "int32"),
      rows,
    );
    return tf.neg(
      tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)),
    ) as tf.Scalar;
  });
}
