/** Fixtures for the status server tests: a runs folder and fake step events. */
import { join } from "node:path";
import assert from "node:assert/strict";
import type { EventBus, RunEvent, StepEvent } from "../core/events.ts";

/** A valid 1×1 PNG. */
export const PNG_1PX: Uint8Array = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** A realistic step event of a phase at `step`. */
export function fakeStep(
  phase: string,
  step: number,
  totalSteps: number,
): StepEvent {
  const cls = 1.2 * Math.exp(-step / 40) + 0.1;
  const box = 0.5 * Math.exp(-step / 60) + 0.05;
  return {
    type: "step",
    phase,
    step,
    totalSteps,
    loss: cls + box,
    losses: { cls, box },
    lr: 0.08 * Math.min(1, step / 10),
    imagesPerSec: 12.5,
    elapsedSec: step * 0.08,
    etaSec: (totalSteps - step) * 0.08,
    gradNorm: 2 / Math.sqrt(step),
  };
}

/** A `run-start` event of `recipe` writing to `out`. */
export function runStartEvent(
  recipe: string,
  out: string,
  backend: string,
  config: Record<string, unknown> = {},
): RunEvent {
  return { type: "run-start", recipe, out, backend, config };
}

/** The `phase-start` of training phase `phase` of `steps` steps. */
export function trainingStart(phase: string, steps: number): RunEvent {
  return { type: "phase-start", phase, total: steps, unit: "steps" };
}

/** `phase-start` of training phase `phase`, then its `steps` fake steps. */
export function trainingEvents(phase: string, steps: number): RunEvent[] {
  const events = [trainingStart(phase, steps)];
  for (let i = 1; i <= steps; i++) events.push(fakeStep(phase, i, steps));
  return events;
}

/** The events of a short finished two-phase run. */
export function fakeRunEvents(steps: number): RunEvent[] {
  const events: RunEvent[] = [
    runStartEvent("selftrain-demo", "runs/demo", "cpu", {
      recipe: "selftrain-demo",
    }),
  ];
  for (const [phase, ap] of [["teacher", 0.31], ["student", 0.36]] as const) {
    events.push(...trainingEvents(phase, steps));
    events.push({ type: "eval", phase, step: steps, metrics: { AP: ap } });
    events.push({
      type: "phase-end",
      phase,
      metrics: { AP: ap, AP50: ap + 0.2 },
      skipped: false,
    });
  }
  events.push({ type: "run-end", recipe: "selftrain-demo", seconds: 12.5 });
  return events;
}

/**
 * Writes a runs folder: `<root>/runs/demo/…` (a finished run with samples),
 * `<root>/runs/empty-dir/` (not a run), and `<root>/secret.png` plus a
 * symlink `samples/escape.png` to it (must never be served). Returns paths.
 */
export async function writeRunsFixture(
  root: string,
): Promise<{ runs: string; run: string }> {
  const runs = join(root, "runs");
  const run = join(runs, "demo");
  await Deno.mkdir(join(run, "teacher"), { recursive: true });
  await Deno.mkdir(join(run, "student"), { recursive: true });
  await Deno.mkdir(join(run, "samples"), { recursive: true });
  await Deno.mkdir(join(runs, "empty-dir"), { recursive: true });
  const json = (p: string, v: unknown) =>
    Deno.writeTextFile(p, JSON.stringify(v));
  await json(join(run, "config.json"), { recipe: "selftrain-demo", seed: 1 });
  await json(join(run, "teacher", "metrics.json"), { AP: 0.31, AP50: 0.51 });
  await json(join(run, "student", "metrics.json"), { AP: 0.36, AP50: 0.56 });
  await json(join(run, "report.json"), {
    recipe: "selftrain-demo",
    seed: 1,
    backend: "cpu",
    teacher: { metrics: { AP: 0.31 } },
    student: { metrics: { AP: 0.36 } },
    pseudo_labels: { images: 40, boxes: 123 },
    seconds: 12.5,
  });
  await Deno.writeTextFile(
    join(run, "events.jsonl"),
    fakeRunEvents(5).map((e) => JSON.stringify(e)).join("\n") + "\n",
  );
  await Deno.writeFile(join(run, "samples", "pred_0.png"), PNG_1PX);
  await Deno.writeTextFile(join(run, "samples", "notes.txt"), "not an image");
  await Deno.writeFile(join(root, "secret.png"), PNG_1PX);
  await Deno.symlink(
    join(root, "secret.png"),
    join(run, "samples", "escape.png"),
  );
  return { runs, run };
}

/**
 * Emits a fake run on `bus`: run-start, phase-start, then `steps` step
 * events `delayMs` apart, until done or `signal` aborts.
 */
export async function driveFakeRun(
  bus: EventBus,
  steps: number,
  delayMs: number,
  signal?: AbortSignal,
): Promise<void> {
  bus.emit(runStartEvent("selftrain-demo", "runs/live", "cpu"));
  bus.emit(trainingStart("teacher", steps));
  for (let i = 1; i <= steps && !signal?.aborted; i++) {
    bus.emit(fakeStep("teacher", i, steps));
    await new Promise((r) => setTimeout(r, delayMs));
  }
}

/**
 * Drives a fake 10,000-step run on `bus` (a step every 40 ms) while `body`
 * runs, then stops it.
 */
export async function whileFakeRun(
  bus: EventBus,
  body: () => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const training = driveFakeRun(bus, 10_000, 40, ac.signal);
  try {
    await body();
  } finally {
    ac.abort();
    await training;
  }
}

/**
 * Requests each of `paths` from `app` and asserts the answer has `status`
 * (the message names the path); the bodies are dropped, the responses
 * (headers) returned in order.
 */
export async function expectStatus(
  app: { request(path: string): Response | Promise<Response> },
  paths: readonly string[],
  status: number,
): Promise<Response[]> {
  const answers: Response[] = [];
  for (const path of paths) {
    const res = await app.request(path);
    assert.equal(res.status, status, path);
    await res.body?.cancel();
    answers.push(res);
  }
  return answers;
}
