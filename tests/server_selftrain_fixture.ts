/**
 * A finished `coco-selftrain` run folder for the dashboard tests, as the
 * recipe writes it: `report.json` with teacher, baseline, student, Δ rows and
 * pseudo-label statistics; `events.jsonl` of an older recipe, whose
 * `<phase>-eval` phases never got a `phase-end` and which has no `run-end`
 * (the report says the run finished); and preview JPEGs in `samples/`.
 */
import { join } from "node:path";
import type { RunEvent } from "../core/events.ts";
import { encodeJpeg } from "../image/codec.ts";
import { runStartEvent, trainingEvents } from "./server_helpers.ts";

/** The run's folder name. */
export const SELFTRAIN_RUN = "st";

/** Preview image names written (and listed in the report). */
export const PREVIEWS: readonly string[] = [
  "pseudo_000001.jpg",
  "pseudo_000002.jpg",
];

const m = (ap: number): Record<string, number> => ({
  AP: ap,
  AP50: ap + 0.2,
  AP75: ap - 0.02,
  APs: -1,
  APm: ap - 0.05,
  APl: ap + 0.05,
});

/** The report: every field of the self-training report shape. */
export const SELFTRAIN_REPORT = {
  recipe: "coco-selftrain",
  seed: 0,
  backend: "native",
  teacher: { metrics: m(0.237), steps: 6 },
  baseline: {
    metrics: m(0.262),
    steps: 6,
    init: "teacher",
    humanPerStep: 16,
  },
  student: { metrics: m(0.275), steps: 6, humanPerStep: 8, pseudoPerStep: 8 },
  delta: { baseline: { AP: 0.013, AP50: 0.013 }, teacher: { AP: 0.038 } },
  pseudo_labels: {
    images: 1500,
    boxes: 2400,
    ignored: 300,
    score_histogram: {
      edges: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
      counts: [900, 500, 300, 420, 380, 350, 330, 320, 310, 290],
    },
    file: "runs/st/labels/pseudo_labels.json",
    per_class: { circle: 1200, square: 500, triangle: 600, star: 100 },
    human_per_class: { circle: 300, square: 280, triangle: 260, star: 260 },
    previews: [...PREVIEWS],
  },
  seconds: 400,
};

/** Events of the run: eval phases without `phase-end`, no `run-end`. */
export function selftrainEvents(steps: number): RunEvent[] {
  const events = [
    runStartEvent("coco-selftrain", `runs/${SELFTRAIN_RUN}`, "native"),
  ];
  const train = (phase: string, ap: number) => {
    events.push(
      ...trainingEvents(phase, steps),
      { type: "phase-start", phase: `${phase}-eval`, total: 4, unit: "images" },
      { type: "progress", phase: `${phase}-eval`, done: 4, total: 4 },
      { type: "eval", phase, step: 0, metrics: m(ap) },
      { type: "phase-end", phase, metrics: m(ap), skipped: false },
    );
  };
  train("teacher", 0.237);
  events.push(
    { type: "phase-start", phase: "label", total: 1500, unit: "images" },
    { type: "progress", phase: "label", done: 1500, total: 1500 },
    { type: "phase-end", phase: "label", metrics: {}, skipped: false },
  );
  train("baseline", 0.262);
  train("student", 0.275);
  return events;
}

/** A 96×64 grey JPEG with a green, an orange and a red box outline. */
function previewJpeg(shift: number): Uint8Array {
  const [w, hgt] = [96, 64];
  const data = new Uint8Array(w * hgt * 3).fill(200);
  const boxes: [number, number, number, number, number[]][] = [
    [8 + shift, 8, 40, 30, [47, 168, 79]],
    [50, 12 + shift, 88, 44, [240, 146, 43]],
    [20, 38, 60 - shift, 58, [217, 65, 58]],
  ];
  for (const [x0, y0, x1, y1, rgb] of boxes) {
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const edge = y - y0 < 2 || y1 - y < 2 || x - x0 < 2 || x1 - x < 2;
        if (edge) data.set(rgb, (y * w + x) * 3);
      }
    }
  }
  return encodeJpeg({ width: w, height: hgt, channels: 3, data }, 90);
}

/** Writes the run under `<runs>/st`; returns its folder. */
export async function writeSelftrainRun(runs: string): Promise<string> {
  const run = join(runs, SELFTRAIN_RUN);
  await Deno.mkdir(join(run, "samples"), { recursive: true });
  await Deno.writeTextFile(
    join(run, "config.json"),
    JSON.stringify({
      recipe: "coco-selftrain",
      seed: 0,
      pseudo: { threshold: 0.3, ignoreBelow: 0.1 },
    }),
  );
  await Deno.writeTextFile(
    join(run, "report.json"),
    JSON.stringify(SELFTRAIN_REPORT),
  );
  await Deno.writeTextFile(
    join(run, "events.jsonl"),
    selftrainEvents(6).map((e) => JSON.stringify(e)).join("\n") + "\n",
  );
  for (const [i, name] of PREVIEWS.entries()) {
    await Deno.writeFile(join(run, "samples", name), previewJpeg(6 * i));
  }
  await Deno.writeFile(join(run, "samples", "student_1.jpg"), previewJpeg(3));
  return run;
}
