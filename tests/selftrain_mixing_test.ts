import assert from "node:assert/strict";
import { MixedBatchSampler, parseRatio } from "../selftrain/mod.ts";

function stream(
  sampler: MixedBatchSampler,
  steps: number,
  source: "human" | "pseudo",
): number[] {
  return Array.from({ length: steps }, (_, s) => sampler.batch(s))
    .flat().filter((e) => e.source === source).map((e) => e.index);
}

Deno.test("mixing: exact per-batch mix, human first, for several ratios", () => {
  for (
    const [ratio, batchSize, human] of [
      ["1:1", 8, 4],
      ["1:3", 8, 2],
      ["2:1", 6, 4],
      ["0:1", 4, 0],
      ["1:0", 4, 4],
    ] as const
  ) {
    const sampler = new MixedBatchSampler({
      humanSize: 13,
      pseudoSize: 29,
      batchSize,
      ratio,
      seed: 1,
    });
    assert.equal(sampler.humanPerBatch, human, ratio);
    for (let step = 0; step < 20; step++) {
      const batch = sampler.batch(step);
      assert.equal(batch.length, batchSize);
      assert.deepEqual(
        batch.map((e) => e.source),
        [
          ...Array(human).fill("human"),
          ...Array(batchSize - human).fill("pseudo"),
        ],
      );
    }
  }
});

Deno.test("mixing: each epoch of each source is a permutation, reshuffled per epoch", () => {
  const sampler = new MixedBatchSampler({
    humanSize: 10,
    pseudoSize: 7,
    batchSize: 4,
    seed: 5,
  });
  const human = stream(sampler, 15, "human"); // 30 entries = 3 human epochs
  const pseudo = stream(sampler, 14, "pseudo"); // 28 entries = 4 pseudo epochs
  const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
  for (let e = 0; e < 3; e++) {
    assert.deepEqual(sorted(human.slice(e * 10, e * 10 + 10)), [
      ...Array(10).keys(),
    ]);
  }
  for (let e = 0; e < 4; e++) {
    assert.deepEqual(sorted(pseudo.slice(e * 7, e * 7 + 7)), [
      ...Array(7).keys(),
    ]);
  }
  assert.notDeepEqual(human.slice(0, 10), human.slice(10, 20));
  assert.equal(sampler.epoch("pseudo", 4), 1); // entries 8, 9 of the pseudo stream
});

Deno.test("mixing: pure function of seed and step (resume), seed matters", () => {
  const opts = {
    humanSize: 50,
    pseudoSize: 300,
    batchSize: 6,
    ratio: [1, 2] as const,
    seed: 9,
  };
  const a = new MixedBatchSampler(opts);
  const sequential = Array.from({ length: 120 }, (_, s) => a.batch(s));
  const b = new MixedBatchSampler(opts);
  for (const s of [119, 3, 77, 0, 50]) {
    assert.deepEqual(b.batch(s), sequential[s]);
  }
  // Augmentation seeds differ between epochs of the same index.
  const firstTwoEpochs = sequential.flat().filter((e) =>
    e.source === "human" && e.index === 0
  );
  assert.ok(firstTwoEpochs.length >= 2);
  assert.notEqual(firstTwoEpochs[0].seed, firstTwoEpochs[1].seed);
  assert.deepEqual(firstTwoEpochs.slice(0, 2).map((e) => e.epoch), [0, 1]);
  const c = new MixedBatchSampler({ ...opts, seed: 10 });
  assert.notDeepEqual(c.batch(0), sequential[0]);
});

Deno.test("mixing: errors name the problem", () => {
  assert.throws(
    () =>
      new MixedBatchSampler({
        humanSize: 5,
        pseudoSize: 5,
        batchSize: 5,
        seed: 0,
      }),
    /batch size 5 cannot be split exactly 1:1/,
  );
  assert.throws(
    () =>
      new MixedBatchSampler({
        humanSize: 5,
        pseudoSize: 0,
        batchSize: 4,
        seed: 0,
      }),
    /pseudo dataset is empty/,
  );
  assert.throws(() => parseRatio("1-1"), /H:P/);
  assert.deepEqual(parseRatio(" 1 : 2.5 "), [1, 2.5]);
  assert.throws(
    () =>
      new MixedBatchSampler({
        humanSize: 5,
        pseudoSize: 5,
        batchSize: 4,
        seed: 0,
      }).batch(-1),
    /non-negative/,
  );
});

Deno.test("mixing: the compute-matched baseline's all-human batches are the student's human halves", () => {
  const student = new MixedBatchSampler({
    humanSize: 13,
    pseudoSize: 40,
    batchSize: 8,
    ratio: "1:1",
    seed: 5,
  });
  const baseline = new MixedBatchSampler({
    humanSize: 13,
    pseudoSize: 0,
    batchSize: 4,
    ratio: "1:0",
    seed: 5,
  });
  for (const step of [0, 1, 2, 3, 7, 50]) {
    assert.deepEqual(
      student.batch(step).filter((e) => e.source === "human"),
      baseline.batch(step),
    );
  }
});
