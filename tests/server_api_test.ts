import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import { createStatusApp } from "../plugins/server/app.ts";
import { RunState } from "../plugins/server/state.ts";
import { UI_HTML } from "../plugins/server/ui_bundle.ts";
import {
  expectStatus,
  fakeRunEvents,
  fakeStep,
  runStartEvent,
  writeRunsFixture,
} from "./server_helpers.ts";
import {
  SELFTRAIN_REPORT,
  writeSelftrainRun,
} from "./server_selftrain_fixture.ts";

async function fixture() {
  const root = await Deno.makeTempDir({ prefix: "server_api_" });
  const { runs, run } = await writeRunsFixture(root);
  return { root, runs, run };
}

Deno.test("server api: /api/status reports the live step, losses, lr, eta and memory", async () => {
  const bus = new EventBus();
  const app = createStatusApp({
    bus,
    memory: () => ({ numTensors: 7, numBytes: 1024 }),
  });
  for (const e of fakeRunEvents(3).slice(0, 4)) bus.emit(e); // run-start, phase-start, 2 steps
  const res = await app.request("/api/status");
  assert.equal(res.status, 200);
  const s = await res.json();
  const want = fakeStep("teacher", 2, 3);
  assert.equal(s.recipe, "selftrain-demo");
  assert.equal(s.backend, "cpu");
  assert.equal(s.phase, "teacher");
  assert.equal(s.step, 2);
  assert.equal(s.totalSteps, 3);
  assert.deepEqual(s.losses, want.losses);
  assert.equal(s.lr, want.lr);
  assert.equal(s.imagesPerSec, want.imagesPerSec);
  assert.equal(s.etaSec, want.etaSec);
  assert.equal(s.running, true);
  assert.equal(s.memory.numTensors, 7);
  assert.equal(s.memory.numBytes, 1024);
  assert.ok(s.memory.rss > 0 && s.memory.heapUsed > 0);
  assert.deepEqual(s.phases[0], {
    name: "teacher",
    status: "running",
    done: 2,
    total: 3,
    unit: "steps",
    metrics: {},
  });
});

Deno.test("server api: /api/history holds the step series of every phase", async () => {
  const bus = new EventBus();
  const app = createStatusApp({ bus });
  for (const e of fakeRunEvents(4)) bus.emit(e);
  const h = await (await app.request("/api/history")).json();
  assert.equal(h.seq, fakeRunEvents(4).length);
  assert.deepEqual(
    h.history.teacher.points.map((p: { step: number }) => p.step),
    [1, 2, 3, 4],
  );
  assert.equal(h.history.student.points.length, 4);
  assert.equal(h.running, false);
});

Deno.test("server api: /api/runs lists runs newest first and skips non-runs", async () => {
  const { runs } = await fixture();
  const list =
    await (await createStatusApp({ runsDir: runs }).request("/api/runs"))
      .json();
  assert.deepEqual(list.map((r: { id: string }) => r.id), ["demo"]);
  assert.equal(list[0].recipe, "selftrain-demo");
  assert.equal(list[0].finished, true);
});

Deno.test("server api: /api/runs/:id returns config, metrics per phase, report, samples", async () => {
  const { runs } = await fixture();
  const app = createStatusApp({ runsDir: runs });
  const d = await (await app.request("/api/runs/demo")).json();
  assert.deepEqual(d.config, { recipe: "selftrain-demo", seed: 1 });
  assert.deepEqual(d.metrics, {
    teacher: { AP: 0.31, AP50: 0.51 },
    student: { AP: 0.36, AP50: 0.56 },
  });
  assert.deepEqual(d.report.pseudo_labels, { images: 40, boxes: 123 });
  assert.deepEqual(d.samples, ["pred_0.png"]); // symlinks and non-images are not listed
  assert.equal((await app.request("/api/runs/nope")).status, 404);
  assert.equal((await app.request("/api/runs/..")).status, 404);
});

Deno.test("server api: a run folder given as --runs is a single run", async () => {
  const { run } = await fixture();
  const app = createStatusApp({ runsDir: run });
  const list = await (await app.request("/api/runs")).json();
  assert.deepEqual(list.map((r: { id: string }) => r.id), ["demo"]);
  assert.equal((await app.request("/api/runs/demo")).status, 200);
});

Deno.test("server api: /api/runs/:id/events and /history read events.jsonl", async () => {
  const { runs } = await fixture();
  const app = createStatusApp({ runsDir: runs });
  const events = await (await app.request("/api/runs/demo/events")).json();
  assert.deepEqual(events, fakeRunEvents(5));
  const h = await (await app.request("/api/runs/demo/history")).json();
  assert.equal(h.history.student.points.length, 5);
  assert.deepEqual(
    h.phases.map((p: { metrics: { AP: number } }) => p.metrics.AP),
    [0.31, 0.36],
  );
});

Deno.test("server api: /history of a run with report.json but no run-end reads as finished", async () => {
  const { runs } = await fixture();
  const run = await writeSelftrainRun(runs);
  const app = createStatusApp({ runsDir: runs });
  const history = async () =>
    await (await app.request("/api/runs/st/history")).json();
  const running = (h: { phases: { name: string; status: string }[] }) =>
    h.phases.filter((p) => p.status === "running").map((p) => p.name);
  const done = await history();
  assert.deepEqual(running(done), []);
  assert.equal(done.finished, true);
  assert.equal(done.running, false);
  assert.equal(done.seconds, SELFTRAIN_REPORT.seconds);
  // Without the report nothing says it ended: its last phase still runs.
  await Deno.remove(`${run}/report.json`);
  const open = await history();
  assert.deepEqual(running(open), ["student-eval"]);
  assert.equal(open.finished, false);
  assert.equal(open.running, true);
  const detail = await (await app.request("/api/runs/st")).json();
  assert.deepEqual(detail.samples, [
    "pseudo_000001.jpg",
    "pseudo_000002.jpg",
    "student_1.jpg",
  ]);
});

Deno.test("server api: malformed events.jsonl is a 500 naming the file and line", async () => {
  const { runs, run } = await fixture();
  await Deno.writeTextFile(
    `${run}/events.jsonl`,
    '{"type":"log","message":"a"}\n{oops\n{"type":"log"}\n',
  );
  const res = await createStatusApp({ runsDir: runs }).request(
    "/api/runs/demo/events",
  );
  assert.equal(res.status, 500);
  assert.match((await res.json()).error, /events\.jsonl:2: invalid JSON/);
});

Deno.test("server api: /api/metrics is Prometheus text with HELP, TYPE and labels", async () => {
  const bus = new EventBus();
  const app = createStatusApp({ bus });
  for (const e of fakeRunEvents(2)) bus.emit(e);
  const res = await app.request("/api/metrics");
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get("content-type") ?? "",
    /^text\/plain; version=0\.0\.4/,
  );
  const text = await res.text();
  assert.match(text, /^# HELP selftrain_loss_component /m);
  assert.match(text, /^# TYPE selftrain_loss_component gauge$/m);
  const box = fakeStep("student", 2, 2).losses.box;
  assert.ok(
    text.includes(
      `selftrain_loss_component{phase="student",component="box"} ${box}\n`,
    ),
  );
  assert.ok(
    text.includes(`selftrain_phase_metric{phase="teacher",metric="AP"} 0.31\n`),
  );
  assert.ok(text.includes(`selftrain_events_total{type="step"} 4\n`));
  assert.match(text, /^# TYPE selftrain_events_total counter$/m);
  assert.match(text, /^selftrain_memory_bytes\{kind="rss"\} \d+$/m);
});

Deno.test("server api: / serves the dashboard with a strict CSP, and its assets", async () => {
  const app = createStatusApp();
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), UI_HTML);
  assert.match(
    res.headers.get("content-security-policy") ?? "",
    /script-src 'self'/,
  );
  const js = await app.request("/ui/app.js");
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  const css = await app.request("/ui/app.css");
  assert.match(css.headers.get("content-type") ?? "", /text\/css/);
});

Deno.test("server api: only GET and HEAD; everything else is 405", async () => {
  const { runs } = await fixture();
  const app = createStatusApp({ runsDir: runs, state: new RunState() });
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const res = await app.request("/api/runs/demo", { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
  }
  const head = await app.request("/api/runs/demo", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  assert.equal(
    (await app.request("/api/events", { method: "HEAD" })).status,
    404,
  ); // no bus
  assert.equal((await app.request("/api/nothing")).status, 404);
});

Deno.test("server api: with a token, requests need Authorization: Bearer (or ?token=)", async () => {
  const app = createStatusApp({ token: "s3cret" });
  const denied = await expectStatus(app, [
    "/",
    "/api/status",
    "/api/metrics",
    "/api/runs",
    "/api/history",
    "/api/events",
    "/api/runs/demo/samples/pred_0.png",
  ], 401);
  for (const res of denied) {
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  }
  const wrong = await app.request("/api/status", {
    headers: { authorization: "Bearer s3cre" },
  });
  assert.equal(wrong.status, 401);
  const basic = await app.request("/api/status", {
    headers: { authorization: "Basic s3cret" },
  });
  assert.equal(basic.status, 401);
  const ok = await app.request("/api/status", {
    headers: { authorization: "Bearer s3cret" },
  });
  assert.equal(ok.status, 200);
  assert.equal((await app.request("/api/status?token=s3cret")).status, 200);
  assert.equal((await app.request("/api/status?token=nope")).status, 401);
  // The page's own script and styles hold no run data and load without it.
  assert.equal((await app.request("/ui/app.js")).status, 200);
  assert.equal((await app.request("/ui/app.css")).status, 200);
});

Deno.test("server api: the live run's out folder is listed and readable", async () => {
  const { run } = await fixture();
  const bus = new EventBus();
  const app = createStatusApp({ bus });
  bus.emit(runStartEvent("r", run, "cpu"));
  const list = await (await app.request("/api/runs")).json();
  assert.deepEqual(list, [{
    id: "demo",
    recipe: "r",
    finished: false,
    mtimeMs: null,
  }]);
  const d = await (await app.request("/api/runs/demo")).json();
  assert.equal(d.metrics.teacher.AP, 0.31);
});
