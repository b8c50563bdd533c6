import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import {
  escapeLabelValue,
  formatValue,
  toPrometheus,
} from "../plugins/server/prometheus.ts";
import { RunState } from "../plugins/server/state.ts";
import { fakeRunEvents, fakeStep } from "./server_helpers.ts";
import { selftrainEvents } from "./server_selftrain_fixture.ts";

Deno.test("server state: phases follow start, progress, step and end events", () => {
  const s = new RunState();
  const bus = new EventBus();
  const off = s.subscribe(bus);
  for (const e of fakeRunEvents(3)) bus.emit(e);
  bus.emit({
    type: "phase-start",
    phase: "pseudo-label",
    total: 40,
    unit: "images",
  });
  bus.emit({ type: "progress", phase: "pseudo-label", done: 10, total: 40 });
  off();
  bus.emit({ type: "log", message: "after unsubscribe" });
  const snap = s.snapshot;
  assert.equal(snap.seq, fakeRunEvents(3).length + 2);
  assert.deepEqual(
    snap.phases.map((p) => [p.name, p.status, p.done, p.total, p.unit]),
    [
      ["teacher", "done", 3, 3, "steps"],
      ["student", "done", 3, 3, "steps"],
      ["pseudo-label", "running", 10, 40, "images"],
    ],
  );
  assert.deepEqual(snap.phases[1].metrics, { AP: 0.36, AP50: 0.56 });
  assert.deepEqual(snap.phases[0].evals, [{ step: 3, metrics: { AP: 0.31 } }]);
  assert.deepEqual(snap.last, fakeStep("student", 3, 3));
  assert.equal(snap.phase, "pseudo-label");
  assert.equal(snap.seconds, 12.5);
  assert.deepEqual(snap.logs, []);
  assert.deepEqual(s.counts, {
    "run-start": 1,
    "phase-start": 3,
    step: 6,
    eval: 2,
    "phase-end": 2,
    "run-end": 1,
    progress: 1,
  });
});

Deno.test("server state: a new run-start clears the previous run but keeps seq", () => {
  const s = new RunState();
  for (const e of fakeRunEvents(2)) s.apply(e);
  s.apply({
    type: "run-start",
    recipe: "b",
    out: "o",
    backend: "wasm",
    config: { a: 1 },
  });
  assert.equal(s.snapshot.seq, fakeRunEvents(2).length + 1);
  assert.equal(s.snapshot.recipe, "b");
  assert.deepEqual(s.snapshot.phases, []);
  assert.deepEqual(s.snapshot.history, {});
  assert.equal(s.snapshot.running, true);
});

Deno.test("server state: step series stay bounded and cover the whole phase", () => {
  const s = new RunState(undefined, { maxPoints: 8 });
  for (let i = 1; i <= 100; i++) s.apply(fakeStep("teacher", i, 100));
  const { stride, points } = s.snapshot.history.teacher;
  // 8 points max: strides 1→2→4→8→16; kept steps are 1, 17, 33, 49, 65, 81, 97.
  assert.equal(stride, 16);
  assert.deepEqual(points.map((p) => p.step), [1, 17, 33, 49, 65, 81, 97]);
  assert.equal(points[2].loss, fakeStep("teacher", 33, 100).loss);
  assert.equal(s.snapshot.last?.step, 100);
});

Deno.test("server state: log lines and evals are bounded", () => {
  const s = new RunState(undefined, { maxLogs: 3, maxEvals: 2 });
  for (let i = 0; i < 5; i++) s.apply({ type: "log", message: `m${i}` });
  for (let i = 0; i < 5; i++) {
    s.apply({ type: "eval", phase: "t", step: i, metrics: { AP: i } });
  }
  assert.deepEqual(s.snapshot.logs, ["m2", "m3", "m4"]);
  assert.deepEqual(s.snapshot.phases[0].evals.map((e) => e.step), [3, 4]);
});

Deno.test("server prometheus: label values and special numbers are escaped", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(0.5), "0.5");
  const s = new RunState();
  s.apply({
    type: "run-start",
    recipe: 'we"ird\nname',
    out: "",
    backend: "c\\pu",
    config: {},
  });
  s.apply({ ...fakeStep("t", 1, 2), losses: { 'x"y': NaN } });
  const text = toPrometheus(s.snapshot, s.counts);
  assert.ok(
    text.includes(
      'selftrain_run_info{recipe="we\\"ird\\nname",backend="c\\\\pu"} 1\n',
    ),
  );
  assert.ok(
    text.includes(
      'selftrain_loss_component{phase="t",component="x\\"y"} NaN\n',
    ),
  );
  // Every sample line belongs to a family announced by HELP and TYPE just before.
  const families = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const m = /^# TYPE (\w+) (gauge|counter)$/.exec(line);
    if (m) families.add(m[1]);
    else if (!line.startsWith("# HELP ")) {
      assert.ok(families.has(line.split(/[{ ]/)[0]), line);
    }
  }
  assert.ok(!text.includes("selftrain_memory_bytes"));
});

Deno.test("server state: a phase is done once a later phase starts or the run ends", () => {
  const s = new RunState();
  const events = selftrainEvents(2);
  for (const e of events) s.apply(e);
  const status = () =>
    Object.fromEntries(s.snapshot.phases.map((p) => [p.name, p.status]));
  // No phase-end for the eval phases: each is done when the next starts; the
  // last one still runs as long as the run has not ended.
  assert.deepEqual(status(), {
    teacher: "done",
    "teacher-eval": "done",
    label: "done",
    baseline: "done",
    "baseline-eval": "done",
    student: "done",
    "student-eval": "running",
  });
  assert.equal(s.snapshot.finished, false);
  s.apply({ type: "run-end", recipe: "coco-selftrain", seconds: 9 });
  assert.ok(Object.values(status()).every((x) => x === "done"));
  assert.equal(s.snapshot.finished, true);
  assert.equal(s.snapshot.running, false);

  const failed = new RunState();
  for (const e of events) failed.apply(e);
  failed.apply({
    type: "run-end",
    recipe: "coco-selftrain",
    seconds: 9,
    error: "out of memory",
  });
  assert.equal(failed.snapshot.phases.at(-1)?.status, "failed");
  assert.equal(failed.snapshot.phases.at(-2)?.status, "done");
});
