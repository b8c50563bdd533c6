/**
 * `coco-selftrain`'s phase rules: `--phase label` refuses without a trained
 * teacher, one process at a time trains the teacher into a folder, and a
 * student killed with SIGKILL resumes to the bit-identical result of an
 * uninterrupted run (every moving average the loss uses is checkpointed).
 */
import assert from "node:assert/strict";
import {
  killWhen,
  readEvents,
  runTinySelfTrain,
  selfTrainCliArgs,
  tempOut,
  TINY_SELFTRAIN,
  tinyCocoData,
  tinyTrain,
} from "./recipe_helpers.ts";
import type { SelfTrainPhases } from "../recipes/report.ts";

const TINY: Record<string, string> = {
  ...TINY_SELFTRAIN,
  ...tinyTrain("student", 6),
};

const run = (out: string, extra: Record<string, string> = {}) =>
  runTinySelfTrain(out, { ...tinyTrain("student", 6), ...extra });

Deno.test("coco-selftrain: --phase label without a trained teacher refuses, naming the command to run", async () => {
  const out = await tempOut("nolabel");
  try {
    for (const phase of ["label", "student", "baseline"]) {
      await assert.rejects(
        run(out, { phase }),
        (e: Error) => {
          assert.doesNotMatch(e.message, /\n/);
          assert.match(
            e.message,
            new RegExp(
              `--phase ${phase} needs a trained teacher in .*/teacher: run \`deno task recipe coco-selftrain --phase teacher --out `,
            ),
          );
          return true;
        },
      );
    }
    // Nothing was trained.
    assert.equal(
      (await readEvents(out).catch(() => [])).filter((e) => e.type === "step")
        .length,
      0,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("coco-selftrain: a live process's teacher lock stops a second teacher; a dead one's is taken over", async () => {
  const out = await tempOut("lock");
  const holder = new Deno.Command("sleep", { args: ["60"] }).spawn();
  try {
    await Deno.writeTextFile(`${out}/teacher.lock`, `${holder.pid}\n`);
    await assert.rejects(
      run(out, { phase: "teacher" }),
      new RegExp(
        `teacher\\.lock: process ${holder.pid} is running the teacher phase in .*; wait for it to finish or use another --out`,
      ),
    );
    holder.kill("SIGKILL");
    await holder.status;
    await run(out, { phase: "teacher" });
    await Deno.stat(`${out}/teacher/metrics.json`);
    await assert.rejects(
      Deno.stat(`${out}/teacher.lock`),
      Deno.errors.NotFound,
    );
    // A finished teacher is only read: label shards run beside a lock holder.
    const other = new Deno.Command("sleep", { args: ["60"] }).spawn();
    try {
      await Deno.writeTextFile(`${out}/teacher.lock`, `${other.pid}\n`);
      await run(out, { phase: "label", shard: "0/2" });
      await Deno.stat(`${out}/labels/pseudo_labels.shard-00000-of-00002.json`);
    } finally {
      other.kill("SIGKILL");
      await other.status;
    }
  } finally {
    try {
      holder.kill("SIGKILL");
    } catch { /* already gone */ }
    await holder.status;
    await Deno.remove(out, { recursive: true });
  }
});

/**
 * Steps of the killed student: it is killed at step 3–6, so a test that
 * reads that line late (a busy machine) still finds the run unfinished
 * (with 6 steps, a read three tiny steps late found it done).
 */
const KILL_STEPS = 16;

/** The CLI invocation of the tiny student runs. */
async function cliArgs(out: string, resume: boolean): Promise<string[]> {
  return selfTrainCliArgs(
    out,
    {
      ...TINY,
      ...tinyTrain("student", KILL_STEPS),
      ...await tinyCocoData(),
    },
    ["--phase", "student", ...(resume ? ["--resume"] : [])],
  );
}

async function cli(out: string, resume: boolean): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: await cliArgs(out, resume),
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
}

Deno.test("coco-selftrain CLI: a student killed with SIGKILL resumes bit-identical to an uninterrupted one", async () => {
  const whole = await tempOut("student_whole");
  const killed = await tempOut("student_killed");
  try {
    // One teacher and one labelling, shared by both students.
    for (const phase of ["teacher", "label"]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: (await cliArgs(whole, false)).map((a) =>
          a === "student" ? phase : a
        ),
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    }
    await Deno.remove(`${whole}/events.jsonl`).catch(() => {});
    for (const d of ["teacher", "labels"]) {
      await new Deno.Command("cp", { args: ["-r", `${whole}/${d}`, killed] })
        .output();
    }
    await cli(whole, false);

    // Step 3's line comes after step 2's checkpoint was written.
    const { status, seen } = await killWhen(
      await cliArgs(killed, false),
      new RegExp(`^student [3-6]/${KILL_STEPS} `, "m"),
    );
    assert.equal(status.signal, "SIGKILL", seen);
    await assert.rejects(
      Deno.stat(`${killed}/student/metrics.json`),
      Deno.errors.NotFound,
    );
    await cli(killed, true);
    // The kill lands at step 3 or later (a late reader of the line lets the
    // child go on): any checkpoint before the last step will do.
    const resumedAt = (await readEvents(killed)).map((e) =>
      String((e as { message?: string }).message).match(
        /^student: resumed from .* at step (\d+)$/,
      )
    ).find((m) => m)?.[1];
    assert.ok(
      Number(resumedAt) >= 2 && Number(resumedAt) < KILL_STEPS,
      `the second run resumed from a checkpoint (at step ${resumedAt})`,
    );
    const read = (dir: string, file: string) =>
      Deno.readFile(`${dir}/student/${file}`);
    // Digests, not arrays: a failing deepEqual of megabytes diffs forever.
    const digest = async (dir: string) =>
      Array.from(
        new Uint8Array(
          await crypto.subtle.digest(
            "SHA-256",
            await read(
              dir,
              `checkpoints/step-${
                String(KILL_STEPS).padStart(8, "0")
              }/weights.bin`,
            ),
          ),
        ),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
    assert.equal(await digest(killed), await digest(whole));
    assert.equal(
      new TextDecoder().decode(await read(killed, "metrics.json")),
      new TextDecoder().decode(await read(whole, "metrics.json")),
    );
  } finally {
    await Deno.remove(whole, { recursive: true });
    await Deno.remove(killed, { recursive: true });
  }
});

Deno.test("coco-selftrain: --baselineBatch=full gives the baseline the student's whole batch, all human", async () => {
  const out = await tempOut("fullbase");
  try {
    const { report } = await run(out, {
      baselineBatch: "full",
      ...tinyTrain("student", 2),
    });
    const r = report as unknown as SelfTrainPhases;
    assert.equal(r.baseline.humanPerStep, 4);
    assert.equal(r.student.humanPerStep + r.student.pseudoPerStep, 4);
    assert.equal(r.baseline.steps, r.student.steps);
    const steps = (await readEvents(out)).filter((e) =>
      e.type === "step" && e.phase === "baseline"
    );
    assert.equal(steps.length, 2);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("coco-selftrain: a student trained exactly as the teacher (random init, same steps, schedule, augmentation, human batch) reuses the teacher as its baseline", async () => {
  const out = await tempOut("reuse");
  try {
    const { report } = await run(out, {
      ...tinyTrain("student", 4),
      "student.batchSize": "8",
    });
    const r = report as unknown as SelfTrainPhases;
    assert.equal(r.baseline.reusedTeacher, true);
    assert.deepEqual(r.baseline.metrics, r.teacher.metrics);
    assert.equal(r.baseline.steps, r.student.steps);
    assert.equal(r.baseline.humanPerStep, 4);
    assert.equal(r.student.humanPerStep, 4);
    const events = await readEvents(out);
    assert.ok(!events.some((e) => e.type === "step" && e.phase === "baseline"));
    // Changing one setting of the student makes it train a baseline.
    const other = await tempOut("noreuse");
    try {
      const again = await run(other, {
        ...tinyTrain("student", 4),
        "student.batchSize": "8",
        "student.lr": "0.05",
      });
      assert.equal(
        (again.report as unknown as SelfTrainPhases).baseline.reusedTeacher,
        false,
      );
    } finally {
      await Deno.remove(other, { recursive: true });
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
