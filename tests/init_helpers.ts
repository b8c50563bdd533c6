/**
 * A backbone checkpoint for the tests of `model.init`: a seeded
 * tiny-convnet (5 stages, width 8, so not convnet-*'s default 16) with
 * recognisable batch-norm statistics, saved as `pretrain-*` recipes save
 * theirs.
 */
import * as tf from "@tensorflow/tfjs-core";
import { withInitSeed } from "../core/nn/layers.ts";
import { TinyConvNet } from "../plugins/classifier/convnet.ts";
import {
  productPreprocessing,
  saveBackboneCheckpoint,
} from "../plugins/pretrain/mod.ts";

/** A tiny-convnet checkpoint (5 stages, width 8: not convnet-*'s default 16). */
export async function tinyConvnetCheckpoint(
  dir: string,
): Promise<Map<string, Float32Array>> {
  const net = withInitSeed(
    42,
    () =>
      new TinyConvNet({
        width: 8,
        stages: 5,
        activation: "relu",
        bnMomentum: 0.9,
      }),
  );
  for (const [n, v] of net.namedBuffers()) {
    if (n.endsWith("moving_mean")) v.assign(tf.fill(v.shape, 0.25));
  }
  await saveBackboneCheckpoint(dir, net.namedVariables(), {
    format: "selftrain-backbone/1",
    architecture: "tiny-convnet",
    config: { width: 8, stages: 5, activation: "relu", bnMomentum: 0.9 },
    preprocessing: productPreprocessing(32),
    provenance: { source: "test-fixture", created: "2024-01-01", seed: 42 },
  });
  const values = new Map(
    net.namedVariables().map(([n, v]) => [n, v.dataSync() as Float32Array]),
  );
  net.dispose();
  return values;
}
