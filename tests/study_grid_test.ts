/**
 * The study grid: cell enumeration (which combinations, ids, order, recipe
 * overrides, pre-training prerequisites) and sharding (disjoint shards
 * whose union is the whole grid).
 */
import assert from "node:assert/strict";
import {
  enumerateStudy,
  fractionTag,
  gridPoints,
  selectJobs,
  selectShard,
  type StudyCell,
  validateGrid,
} from "../study/mod.ts";
import { detTask, smallGrid } from "./study_helpers.ts";

Deno.test("study grid: full design enumerates methods x augments x fractions x seeds, seed outermost", () => {
  const plan = enumerateStudy(smallGrid([0, 1]), "D");
  assert.equal(plan.cells.length, 2 * 2 * 2 * 2);
  assert.equal(plan.pretrain.length, 0);
  assert.deepEqual(plan.cells.slice(0, 8).map((c) => c.seed), Array(8).fill(0));
  assert.deepEqual(plan.cells.map((c) => c.id).slice(0, 4), [
    "det-random-sup-S1-f050-s0",
    "det-random-sup-S1-f100-s0",
    "det-random-sup-S4-f050-s0",
    "det-random-sup-S4-f100-s0",
  ]);
  const ids = plan.cells.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
  assert.deepEqual(enumerateStudy(smallGrid([0, 1]), "D").cells, plan.cells);
});

Deno.test("study grid: each method's recipe gets the seed, fraction and augmentation keys", () => {
  const grid = smallGrid([3], {
    detection: detTask({
      augments: ["S2"],
      fractions: [0.2],
      overrides: {
        "coco-selftrain": { "teacher.steps": "10", seed: "99" },
        "coco-supervised": { "train.steps": "7" },
      },
    }),
    segmentation: detTask({ augments: ["S3"], fractions: [1] }),
  });
  const byId = new Map(enumerateStudy(grid, "D").cells.map((c) => [c.id, c]));
  assert.deepEqual(byId.get("det-random-sup-S2-f020-s3")!.overrides, {
    "train.steps": "7",
    seed: "3",
    "data.fraction": "0.2",
    augment: "S2",
  });
  const st = byId.get("det-random-st-S2-f020-s3")!;
  assert.equal(st.recipe, "coco-selftrain");
  assert.deepEqual(st.overrides, {
    "teacher.steps": "10",
    seed: "3",
    "data.fraction": "0.2",
    augment: "S2",
    "teacher.augment": "S2",
  });
  const seg = byId.get("seg-random-st-S3-f100-s3")!;
  assert.equal(seg.recipe, "pascal-selftrain");
  assert.equal(seg.overrides["teacher.augment"], "S3");
  assert.equal(seg.overrides["student.augment"], "S3");
  assert.equal(seg.overrides.augment, undefined);
  assert.equal(
    byId.get("seg-random-sup-S3-f100-s3")!.recipe,
    "pascal-supervised",
  );
});

Deno.test("study grid: the paper design runs augmentation at the largest fraction and fraction at the strongest augmentation", () => {
  const t = detTask({
    augments: ["S1", "S2", "S3", "S4"],
    fractions: [0.2, 0.5, 1],
  });
  const pts = gridPoints(t, "paper").map((p) => `${p.augment}@${p.fraction}`);
  assert.deepEqual(pts, ["S1@1", "S2@1", "S3@1", "S4@0.2", "S4@0.5", "S4@1"]);
  assert.equal(gridPoints(t, "full").length, 12);
  const plan = enumerateStudy(smallGrid([0], { detection: t }, "paper"), "D");
  assert.equal(plan.cells.length, 6 * 2);
});

Deno.test("study grid: pre-trained inits get one pre-training job per task x init x seed and pass its backbone", () => {
  const grid = smallGrid([0, 1], {
    detection: detTask({
      inits: ["random", "imagenet", "simclr"],
      methods: [
        "supervised",
        "self-training",
        "pretrain-self-training",
        "joint",
      ],
      augments: ["S1"],
      fractions: [1],
      joint: { weight: 0.5, dataset: "shapes-cls" },
      overrides: { "pretrain-simclr": { "train.steps": "5" } },
    }),
  });
  const plan = enumerateStudy(grid, "/s");
  // random: sup, st, joint; imagenet and simclr: sup, pst, joint.
  const rows = new Set(plan.cells.map((c) => `${c.init}/${c.method}`));
  assert.deepEqual([...rows], [
    "random/supervised",
    "random/self-training",
    "random/joint",
    "imagenet/supervised",
    "imagenet/pretrain-self-training",
    "imagenet/joint",
    "simclr/supervised",
    "simclr/pretrain-self-training",
    "simclr/joint",
  ]);
  assert.deepEqual(plan.pretrain.map((p) => [p.id, p.recipe]), [
    ["det-imagenet-s0", "pretrain-supervised"],
    ["det-simclr-s0", "pretrain-simclr"],
    ["det-imagenet-s1", "pretrain-supervised"],
    ["det-simclr-s1", "pretrain-simclr"],
  ]);
  assert.deepEqual(plan.pretrain[1].overrides, {
    "train.steps": "5",
    seed: "0",
  });
  const pst = plan.cells.find((c) => c.id === "det-simclr-pst-S1-f100-s1")!;
  assert.equal(pst.recipe, "coco-selftrain");
  assert.equal(pst.needs, "det-simclr-s1");
  assert.equal(
    pst.overrides["model.init"],
    "/s/pretrain/det-simclr-s1/backbone",
  );
  const joint = plan.cells.find((c) => c.id === "det-random-joint-S1-f100-s0")!;
  assert.equal(joint.recipe, "coco-supervised");
  assert.equal(joint.needs, null);
  assert.equal(joint.overrides["model.init"], undefined);
  assert.equal(joint.overrides["joint.weight"], "0.5");
  assert.equal(joint.overrides["joint.dataset"], "shapes-cls");
});

Deno.test("study grid: bad grids are one-line errors naming the field", () => {
  const cases: [Parameters<typeof smallGrid>, RegExp][] = [
    [[[]], /seeds is empty/],
    [[[0, 0]], /seeds has duplicates/],
    [
      [[0], { detection: detTask({ fractions: [0, 1] }) }],
      /detection\.fractions: 0 is not in \(0, 1\]/,
    ],
    [
      [[0], { detection: detTask({ augments: ["S1", "a/b"] }) }],
      /detection\.augments: bad name "a\/b"/,
    ],
    [
      [[0], { detection: detTask({ methods: ["joint"] }) }],
      /method joint needs/,
    ],
    [[[0], {
      segmentation: detTask({
        methods: ["joint"],
        joint: { weight: 1, dataset: "x" },
      }),
    }], /joint has no segmentation recipe/],
    [
      [[0], { detection: detTask({ methods: ["pretrain-self-training"] }) }],
      /no method takes any of the inits random/,
    ],
    [
      [[0], { detection: detTask({ inits: ["imagenet2" as "random"] }) }],
      /unknown init "imagenet2"/,
    ],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => validateGrid(smallGrid(...args)), (e: Error) => {
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"), e.message);
      return true;
    });
  }
});

Deno.test("study grid: fraction tags sort and read as percentages", () => {
  assert.equal(fractionTag(0.2), "f020");
  assert.equal(fractionTag(1), "f100");
  assert.equal(fractionTag(0.125), "f012.5");
  assert.equal(fractionTag(0.05), "f005");
});

Deno.test("study shards: disjoint, in order, and together the whole grid, for 1..7 shards", () => {
  const grid = smallGrid([0, 1, 2], {
    detection: detTask({
      augments: ["S1", "S2", "S3"],
      fractions: [0.2, 0.5, 1],
    }),
    segmentation: detTask(),
  });
  const plan = enumerateStudy(grid, "D");
  const all = plan.cells.map((c) => c.id);
  for (let n = 1; n <= 7; n++) {
    const shards = Array.from(
      { length: n },
      (_, i) =>
        selectShard(plan.cells, { index: i, count: n }).map((c) => c.id),
    );
    const seen = shards.flat();
    assert.equal(seen.length, all.length, `${n} shards cover each cell once`);
    assert.deepEqual([...seen].sort(), [...all].sort());
    for (const s of shards) {
      // Each shard keeps the enumeration order and differs in size by <= 1.
      assert.deepEqual(s, all.filter((id) => s.includes(id)));
      assert.ok(Math.abs(s.length - all.length / n) < 1);
    }
  }
});

Deno.test("study shards: stages select pre-training, cells or both, each sharded", () => {
  const grid = smallGrid([0, 1, 2], {
    detection: detTask({
      inits: ["random", "imagenet"],
      methods: ["supervised"],
      augments: ["S1"],
      fractions: [1],
    }),
  });
  const plan = enumerateStudy(grid, "D");
  const ids = (stage: "all" | "pretrain" | "cells", i: number) =>
    selectJobs(plan, stage, { index: i, count: 2 }).map((j) =>
      `${j.stage}/${j.id}`
    );
  assert.deepEqual(ids("pretrain", 0), [
    "pretrain/det-imagenet-s0",
    "pretrain/det-imagenet-s2",
  ]);
  assert.deepEqual(ids("pretrain", 1), ["pretrain/det-imagenet-s1"]);
  assert.deepEqual(ids("cells", 1), [
    "cells/det-imagenet-sup-S1-f100-s0",
    "cells/det-imagenet-sup-S1-f100-s1",
    "cells/det-imagenet-sup-S1-f100-s2",
  ]);
  assert.deepEqual(ids("all", 1), [...ids("pretrain", 1), ...ids("cells", 1)]);
  const cells = plan.cells as StudyCell[];
  assert.equal(cells.filter((c) => c.needs).length, 3);
});
