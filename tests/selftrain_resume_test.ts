import assert from "node:assert/strict";
import { readCoco } from "../selftrain/mod.ts";
import { fakeId, labelPool } from "./selftrain_fake_pool.ts";

const WORKER = new URL("./selftrain_fake_pool.ts", import.meta.url).pathname;
const POOL = 1000;

/**
 * Starts the worker and SIGKILLs it as soon as `until(lines)` holds (no
 * timing); `until` never holding means the worker must finish on its own.
 */
async function runWorker(
  dir: string,
  pauseAfter: number,
  until: (lines: string[]) => boolean,
): Promise<{ lines: string[]; success: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      WORKER,
      dir,
      String(POOL),
      "0/1",
      String(pauseAfter),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  let killed = false;
  let rest = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    lines.push(...parts);
    if (!killed && until(lines)) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  const status = await child.status;
  await child.stdin.close().catch(() => {});
  return { lines, success: status.success };
}

async function journalLines(dir: string): Promise<string[]> {
  return (await Deno.readTextFile(`${dir}/pseudo_labels.jsonl`)).split("\n");
}

Deno.test("pseudo store: SIGKILL mid-run, torn line, resume: every image exactly once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 1. Killed while blocked after 40 records: journal holds exactly those.
    const a = await runWorker(dir, 40, (l) => l.includes("PAUSE"));
    assert.equal(a.success, false);
    assert.equal(a.lines.filter((l) => l.startsWith("labelled")).length, 40);
    const lines = await journalLines(dir);
    assert.equal(lines.length, 1 + 40 + 1); // header, records, "" after last \n
    await assert.rejects(Deno.stat(`${dir}/pseudo_labels.json`)); // never a partial COCO file

    // 2. A torn last line, as left by a write cut short (crash mid-write).
    await Deno.writeTextFile(
      `${dir}/pseudo_labels.jsonl`,
      `{"image":{"id":1041,"fi`,
      { append: true },
    );

    // 3. Resume and kill again at an arbitrary point (wherever the kill lands;
    //    should the worker win the race and finish, step 4 has nothing to do).
    const b = await runWorker(
      dir,
      0,
      (l) => l.filter((x) => x.startsWith("labelled")).length >= 30,
    );
    const bIds = b.lines.filter((l) => l.startsWith("labelled")).map((l) =>
      l.slice(9)
    );
    assert.equal(
      bIds[0],
      String(fakeId(40)),
      "resume starts at the first unlabelled image",
    );

    // 4. Resume to completion.
    const c = await runWorker(dir, 0, () => false);
    assert.equal(c.success, true);
    assert.equal(c.lines.at(-1), "DONE");
    const announced = [...a.lines, ...b.lines, ...c.lines]
      .filter((l) => l.startsWith("labelled"))
      .map((l) => l.slice(9));
    assert.equal(
      new Set(announced).size,
      announced.length,
      "no image labelled twice",
    );
    // (A kill between journal write and stdout print hides a record from the
    // stdout log, so count in the journal, which is the truth.)
    const records = (await journalLines(dir)).slice(1, -1).map((l) =>
      JSON.parse(l).image.id
    );
    assert.equal(records.length, POOL);
    assert.equal(new Set(records).size, POOL);

    const coco = await readCoco(`${dir}/pseudo_labels.json`);
    const ids = coco.images.map((im) => String(im.id)).sort();
    const expected = Array.from({ length: POOL }, (_, i) => String(fakeId(i)))
      .sort();
    assert.deepEqual(ids, expected);

    // Same bytes as an uninterrupted run.
    const clean = await Deno.makeTempDir();
    try {
      await (await labelPool(clean, POOL, { index: 0, count: 1 })).close();
      assert.equal(
        await Deno.readTextFile(`${dir}/pseudo_labels.json`),
        await Deno.readTextFile(`${clean}/pseudo_labels.json`),
      );
    } finally {
      await Deno.remove(clean, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
