// Anchors, box coding and matching against hand-computed values.
import assert from "node:assert/strict";
import {
  AnchorCache,
  decodeBoxInto,
  encodeBoxInto,
  generateAnchors,
  IGNORE,
  matchAnchors,
  matchAnchorSet,
  NEGATIVE,
} from "../plugins/retinanet/mod.ts";

const REF = {
  minLevel: 3,
  maxLevel: 7,
  numScales: 3,
  aspectRatios: [1, 2, 0.5],
  anchorSize: 4,
};

function near(actual: ArrayLike<number>, expected: number[], tol = 1e-4) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("anchors: 128x128 count, level layout and first boxes", () => {
  const a = generateAnchors(REF, [128, 128]);
  // 16² + 8² + 4² + 2² + 1² = 341 locations × 9 anchors.
  assert.equal(a.count, 3069);
  assert.equal(a.perLocation, 9);
  assert.deepEqual(
    a.levels.map((l) => [l.level, l.height, l.width, l.offset]),
    [[3, 16, 16, 0], [4, 8, 8, 2304], [5, 4, 4, 2880], [6, 2, 2, 3024], [
      7,
      1,
      1,
      3060,
    ]],
  );
  // Level 3, centre (4, 4): scale 1 ratio 1 is 32 px square.
  near(a.boxes.subarray(0, 4), [-12, -12, 20, 20]);
  // Ratio 2 (width / height): 45.2548 × 22.6274.
  near(a.boxes.subarray(4, 8), [
    4 - 22.627417,
    4 - 11.313708,
    4 + 22.627417,
    4 + 11.313708,
  ]);
  // Scale 2^(1/3), ratio 1: half side 20.158737.
  near(a.boxes.subarray(12, 16), [
    4 - 20.158737,
    4 - 20.158737,
    4 + 20.158737,
    4 + 20.158737,
  ]);
  // Anchor 9 is the next column: centre x 12, y 4.
  near(a.boxes.subarray(36, 40), [-4, -12, 28, 20]);
  // Anchor 16*9 starts the second row: centre x 4, y 12.
  near(a.boxes.subarray(144 * 4, 144 * 4 + 4), [-12, -4, 20, 28]);
  // Level 4 starts at centre (8, 8) with a 64 px anchor.
  near(a.boxes.subarray(2304 * 4, 2304 * 4 + 4), [-24, -24, 40, 40]);
  // Last anchor: level 7, centre 64, scale 2^(2/3), ratio 0.5.
  near(a.boxes.subarray(3068 * 4), [
    64 - 287.350284,
    64 - 574.700569,
    64 + 287.350284,
    64 + 574.700569,
  ], 1e-3);
});

Deno.test("anchors: non-divisible sizes use ceil(size / stride) cells", () => {
  const a = generateAnchors({ ...REF, maxLevel: 4 }, [100, 60]);
  assert.deepEqual(a.levels.map((l) => [l.height, l.width]), [[13, 8], [7, 4]]);
  assert.equal(a.count, (13 * 8 + 7 * 4) * 9);
});

Deno.test("anchors: cache returns the same set per size; bad options fail", () => {
  const cache = new AnchorCache(REF);
  assert.equal(cache.get([64, 64]), cache.get([64, 64]));
  assert.notEqual(cache.get([64, 64]), cache.get([128, 64]));
  assert.throws(() => new AnchorCache({ ...REF, maxLevel: 2 }), /minLevel/);
});

Deno.test("box coder: hand-computed encoding and exact round trip", () => {
  const anchor = new Float32Array([0, 0, 10, 20]); // w 10 h 20, centre (5, 10)
  const box = new Float32Array([2, 4, 12, 44]); // w 10 h 40, centre (7, 24)
  const t = new Float32Array(4);
  encodeBoxInto(box, 0, anchor, 0, t, 0);
  near(t, [0.7, 0.2, Math.LN2, 0], 1e-6);
  const back = new Float32Array(4);
  decodeBoxInto(t, 0, anchor, 0, back, 0);
  near(back, [2, 4, 12, 44], 1e-4);
  // Scale factors multiply the offsets and are undone on decoding.
  const s = [10, 10, 5, 5] as const;
  encodeBoxInto(box, 0, anchor, 0, t, 0, s);
  near(t, [7, 2, 5 * Math.LN2, 0], 1e-5);
  decodeBoxInto(t, 0, anchor, 0, back, 0, s);
  near(back, [2, 4, 12, 44], 1e-4);
});

Deno.test("box coder: decoding clips huge size offsets", () => {
  const anchor = new Float32Array([0, 0, 16, 16]);
  const out = new Float32Array(4);
  decodeBoxInto(new Float32Array([0, 0, 50, 50]), 0, anchor, 0, out, 0);
  // exp(log(1000/16)) * 16 = 1000 px at most.
  near(out, [8 - 500, 8 - 500, 8 + 500, 8 + 500], 1e-2);
});

// Hand-made anchors: IoUs with gt0 = [0,0,10,10] are 1, 1/3, 0, 1/2.
const ANCHORS = new Float32Array([
  0,
  0,
  10,
  10, // A0 IoU 1
  5,
  0,
  15,
  10, // A1 IoU 50/150
  20,
  20,
  30,
  30, // A2 IoU 0
  0,
  0,
  10,
  20, // A3 IoU 100/200 = 0.5
  40,
  40,
  50,
  50, // A4 IoU 100/400 with gt1 only
  100,
  100,
  110,
  110, // A5 inside the crowd box
  118,
  118,
  128,
  128, // A6 IoA 4/100 with the crowd box
]);
const GT = new Float32Array([
  0,
  0,
  10,
  10,
  40,
  40,
  60,
  60,
  95,
  95,
  120,
  120,
]);
const CROWD = new Uint8Array([0, 0, 1]);
const OPTS = {
  positive: 0.5,
  negative: 0.5,
  allowLowQuality: true,
  crowdIoa: 0.5,
};

Deno.test("matcher: thresholds, low-quality matches and crowd ignore", () => {
  const m = matchAnchors(ANCHORS, GT, CROWD, OPTS);
  assert.deepEqual([...m], [0, NEGATIVE, NEGATIVE, 0, 1, IGNORE, NEGATIVE]);
});

Deno.test("matcher: ignore band and low-quality off", () => {
  const m = matchAnchors(ANCHORS, GT, CROWD, {
    ...OPTS,
    negative: 0.3,
    allowLowQuality: false,
  });
  // A1 (1/3) falls in [0.3, 0.5): ignored; A4 (1/4) is no longer forced.
  assert.deepEqual([...m], [
    0,
    IGNORE,
    NEGATIVE,
    0,
    NEGATIVE,
    IGNORE,
    NEGATIVE,
  ]);
});

Deno.test("matcher: crowd boxes never make positives; crowdIoa 0 disables", () => {
  const crowdOnly = new Float32Array([0, 0, 10, 10]);
  const m = matchAnchors(ANCHORS, crowdOnly, new Uint8Array([1]), OPTS);
  assert.deepEqual([...m], [
    IGNORE,
    IGNORE,
    NEGATIVE,
    IGNORE,
    NEGATIVE,
    NEGATIVE,
    NEGATIVE,
  ]);
  const off = matchAnchors(ANCHORS, crowdOnly, new Uint8Array([1]), {
    ...OPTS,
    crowdIoa: 0,
  });
  assert.ok(off.every((v) => v === NEGATIVE));
});

Deno.test("matcher: no boxes → all negative; zero-area boxes ignored", () => {
  assert.ok(
    matchAnchors(ANCHORS, new Float32Array(0), undefined, OPTS).every((v) =>
      v === NEGATIVE
    ),
  );
  const m = matchAnchors(
    ANCHORS,
    new Float32Array([5, 5, 5, 9]),
    undefined,
    OPTS,
  );
  assert.ok(m.every((v) => v === NEGATIVE));
});

Deno.test("matcher: grid-pruned matching equals brute force on random boxes", () => {
  let seed = 7;
  let positives = 0;
  const rnd = () =>
    (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const size of [[128, 128], [100, 60]] as const) {
    const set = generateAnchors(REF, size);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(rnd() * 12);
      const boxes = new Float32Array(n * 4);
      const crowd = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        // Some boxes stick out of the image, some are tiny.
        const w = 1 + rnd() * size[1], h = 1 + rnd() * size[0];
        const x = rnd() * size[1] - 10, y = rnd() * size[0] - 10;
        boxes.set([x, y, x + w, y + h], i * 4);
        crowd[i] = rnd() < 0.15 ? 1 : 0;
      }
      const opts = { ...OPTS, negative: trial % 2 ? 0.4 : 0.5 };
      const fast = matchAnchorSet(set, boxes, crowd, opts);
      assert.deepEqual(fast, matchAnchors(set.boxes, boxes, crowd, opts));
      positives += fast.filter((v) => v >= 0).length;
    }
  }
  assert.ok(
    positives > 100,
    `only ${positives} positives: the check would be vacuous`,
  );
});
