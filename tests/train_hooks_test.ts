import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { EventBus, type RunEvent } from "../core/events.ts";
import { runPhase } from "../recipes/phase.ts";
import { periodicEvalHook } from "../recipes/train_phase.ts";
import type { TrainHook } from "../core/train/loop.ts";
import {
  crashingLoader,
  snapshot,
  tinyModel,
  trainTiny,
} from "./foundation_helpers.ts";

Deno.test("EMA hook: the model ends with the averaged weights, as computed by hand from each step's weights", async () => {
  const decay = 0.9;
  const model = tinyModel(3);
  // The hand average: start at the initial weights, then after step t
  // (0-based) shadow = d·shadow + (1-d)·w with d = min(decay, (1+t)/(10+t)).
  const shadow = snapshot(model);
  const tracker: TrainHook = {
    name: "tracker",
    afterStep(_loop, r) {
      const t = r.step - 1;
      const d = Math.min(decay, (1 + t) / (10 + t));
      for (const [name, w] of snapshot(model)) {
        const s = shadow.get(name)!;
        for (let i = 0; i < s.length; i++) s[i] = d * s[i] + (1 - d) * w[i];
      }
    },
  };
  await trainTiny(model, 12, 3, {
    phase: "ema",
    config: { emaDecay: decay },
    hooks: [tracker],
  });
  for (const [name, got] of snapshot(model)) {
    const want = shadow.get(name)!;
    const diff = want.reduce((m, x, i) => Math.max(m, Math.abs(x - got[i])), 0);
    assert.ok(diff < 1e-5, `${name} differs from the hand EMA by ${diff}`);
  }
  model.dispose();
});

Deno.test("a user hook's state is checkpointed and restored on resume", async () => {
  const dir = await Deno.makeTempDir();
  const counter = () => {
    let seen = 0;
    const hook: TrainHook & { seen(): number } = {
      name: "counter",
      afterStep() {
        seen++;
      },
      saveState: () => ({
        json: { seen },
        tensors: new Map([["t", tf.scalar(seen)]]),
      }),
      loadState(s) {
        const json = s.json as { seen: number };
        assert.equal(s.tensors?.get("t")?.dataSync()[0], json.seen);
        seen = json.seen;
      },
      seen: () => seen,
    };
    return hook;
  };
  const first = tinyModel(4), one = counter();
  await assert.rejects(
    trainTiny(first, 8, 4, {
      config: { checkpointEvery: 3 },
      data: crashingLoader(4, 5),
      checkpointDir: dir,
      hooks: [one],
    }),
    /killed/,
  );
  assert.equal(one.seen(), 5);
  const second = tinyModel(5), two = counter();
  const r = await trainTiny(second, 8, 4, {
    config: { checkpointEvery: 3 },
    checkpointDir: dir,
    resume: true,
    hooks: [two],
  });
  assert.equal(r.startStep, 3);
  assert.equal(two.seen(), 3 + 5); // 3 restored from the step-3 checkpoint, 5 run
  first.dispose();
  second.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("NaN guard: a non-finite loss stops with one line naming the phase and step, leaking nothing", async () => {
  const model = tinyModel(6);
  const before = tf.memory().numTensors;
  await assert.rejects(
    trainTiny(model, 5, 6, {
      phase: "guarded",
      loss: (b, c) => {
        const r = model.loss(b, c);
        return { ...r, total: tf.div(r.total, 0) as tf.Scalar };
      },
    }),
    (e: Error) => {
      assert.match(
        e.message,
        /^guarded: loss is (NaN|Infinity) at step 1 \(lr [0-9.e-]+\); lower/,
      );
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
  // The prefetched next batch is still in flight when the guard fires and is
  // freed when it lands: wait for that (bounded), then nothing may remain.
  for (let i = 0; i < 500 && tf.memory().numTensors > before; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(tf.memory().numTensors - before, 0);
  model.dispose();
});

Deno.test("periodic evaluation emits eval events at its interval", async () => {
  const model = tinyModel(7);
  const events = new EventBus();
  const evals: RunEvent[] = [];
  events.on((e) => e.type === "eval" && evals.push(e));
  await trainTiny(model, 7, 7, {
    hooks: [
      periodicEvalHook(
        3,
        (_loop, step) => Promise.resolve({ step2: 2 * step }),
        events,
      ),
    ],
  });
  assert.deepEqual(evals, [
    { type: "eval", phase: "p", step: 3, metrics: { step2: 6 } },
    { type: "eval", phase: "p", step: 6, metrics: { step2: 12 } },
  ]);
  model.dispose();
});

Deno.test("runPhase emits phase-start then phase-end, and only phase-end when skipped", async () => {
  const out = await Deno.makeTempDir();
  const events = new EventBus();
  const seen: string[] = [];
  events.on((e) => {
    if (e.type === "phase-start") seen.push(`start ${e.total} ${e.unit}`);
    if (e.type === "phase-end") seen.push(`end ${e.skipped}`);
  });
  const fn = () => Promise.resolve({ x: 1 });
  await runPhase(out, "a", events, fn, { total: 9, unit: "steps" });
  await runPhase(out, "a", events, fn, { total: 9, unit: "steps" });
  assert.deepEqual(seen, ["start 9 steps", "end false", "end true"]);
  await Deno.remove(out, { recursive: true });
});
