import assert from "node:assert/strict";
import { runEvalCli } from "./eval_helpers.ts";

Deno.test("eval coco CLI: summary and --json last line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gt = {
      images: [{ id: 1, file_name: "a.jpg", width: 100, height: 100 }],
      categories: [{ id: 3, name: "x" }],
      annotations: [{
        id: 1,
        image_id: 1,
        category_id: 3,
        bbox: [0, 0, 50, 50],
        area: 2500,
        iscrowd: 0,
      }],
    };
    const dets = [
      { image_id: 1, category_id: 3, bbox: [60, 60, 30, 30], score: 0.9 },
      { image_id: 1, category_id: 3, bbox: [0, 0, 50, 50], score: 0.8 },
    ];
    await Deno.writeTextFile(`${dir}/gt.json`, JSON.stringify(gt));
    await Deno.writeTextFile(`${dir}/d.json`, JSON.stringify(dets));
    const r = await runEvalCli([
      "coco",
      "--gt",
      `${dir}/gt.json`,
      "--results",
      `${dir}/d.json`,
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    assert.equal(lines.length, 13);
    assert.match(
      lines[0],
      /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = 0\.500/,
    );
    const m = JSON.parse(lines[12]);
    // pycocotools' `stats` order, written out independently of the source.
    assert.deepEqual(
      Object.keys(m),
      "AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl".split(" "),
    );
    assert.ok(Math.abs(m.AP - 0.5) < 1e-9);
    assert.equal(m.APs, -1);
    assert.equal(m.AR1, 0);

    await Deno.writeTextFile(`${dir}/bad.json`, "[{");
    const bad = await runEvalCli([
      "coco",
      "--gt",
      `${dir}/gt.json`,
      "--results",
      `${dir}/bad.json`,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.err.trim(), /^eval: .*bad\.json: malformed JSON/);
    assert.equal(bad.err.trim().split("\n").length, 1);
    const missing = await runEvalCli([
      "coco",
      "--gt",
      `${dir}/nope.json`,
      "--results",
      `${dir}/d.json`,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope\.json: cannot read/);
    await Deno.writeTextFile(
      `${dir}/bad_gt.json`,
      JSON.stringify({ images: [], annotations: {} }),
    );
    const badGt = await runEvalCli([
      "coco",
      "--gt",
      `${dir}/bad_gt.json`,
      "--results",
      `${dir}/d.json`,
    ]);
    assert.match(badGt.err, /bad_gt\.json: "annotations" must be an array/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
