/**
 * The live state of a run, folded from its events. It is plain data so the
 * server can send it as JSON and the dashboard can keep folding SSE events
 * into the same structure (the UI bundle imports this file).
 */
import type { EventBus, RunEvent, StepEvent } from "../../core/events.ts";

/** One recorded training step, for charts. */
export interface StepPoint {
  /** Step, 1-based. */
  step: number;
  /** Total loss. */
  loss: number;
  /** Loss components by name. */
  losses: Record<string, number>;
  /** Learning rate. */
  lr: number;
  /** Training images per second. */
  imagesPerSec: number;
  /** Global gradient norm. */
  gradNorm: number;
}

/** A bounded step series: when full, every other point is dropped and the
 * sampling stride doubles, so the whole phase stays visible at any length. */
export interface StepSeries {
  /** Only steps with `(step - 1) % stride === 0` are recorded. */
  stride: number;
  /** Recorded points, in step order. */
  points: StepPoint[];
}

/** An evaluation result inside a phase. */
export interface EvalPoint {
  /** Step at which it ran. */
  step: number;
  /** Metrics by name. */
  metrics: Record<string, number>;
}

/** The state of one phase. */
export interface PhaseState {
  /** Phase name. */
  name: string;
  /** Lifecycle: `done` also when a later phase started or the run ended
   * without its `phase-end` (older runs sent none for `<phase>-eval`);
   * `failed` when the run ended with an error while it ran. */
  status: "running" | "done" | "skipped" | "failed";
  /** Units done (steps or images). */
  done: number;
  /** Units in all (0 when unknown). */
  total: number;
  /** Unit name. */
  unit: string;
  /** Metrics from `phase-end`. */
  metrics: Record<string, number>;
  /** Evaluations during the phase (bounded). */
  evals: EvalPoint[];
}

/** Everything known about a run, as plain JSON. */
export interface RunSnapshot {
  /** Events applied so far; SSE event ids continue this count. */
  seq: number;
  /** Recipe name (empty until `run-start`). */
  recipe: string;
  /** Backend name. */
  backend: string;
  /** Output folder of the run. */
  out: string;
  /** Resolved config. */
  config: Record<string, unknown>;
  /** True between `run-start` and `run-end`. */
  running: boolean;
  /** True once the run ended: `run-end`, or `finish()` (a report exists). */
  finished: boolean;
  /** Wall seconds, set by `run-end`. */
  seconds: number | null;
  /** Failure message from `run-end`. */
  error: string | null;
  /** Name of the phase that started last. */
  phase: string | null;
  /** The latest step event. */
  last: StepEvent | null;
  /** Phases in start order. */
  phases: PhaseState[];
  /** Step series by phase. */
  history: Record<string, StepSeries>;
  /** Latest log lines (bounded). */
  logs: string[];
}

/** Bounds of a `RunState`. */
export interface RunStateLimits {
  /** Points kept per phase series (default 1000, at least 2). */
  maxPoints?: number;
  /** Evaluations kept per phase (default 200). */
  maxEvals?: number;
  /** Log lines kept (default 200). */
  maxLogs?: number;
}

/** An empty snapshot. */
export function emptySnapshot(): RunSnapshot {
  return {
    seq: 0,
    recipe: "",
    backend: "",
    out: "",
    config: {},
    running: false,
    finished: false,
    seconds: null,
    error: null,
    phase: null,
    last: null,
    phases: [],
    history: {},
    logs: [],
  };
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/** Folds run events into a `RunSnapshot`. */
export class RunState {
  /** The current state; treat as read-only outside this class. */
  readonly snapshot: RunSnapshot;
  /** Events received by type since this object was made (never reset). */
  readonly counts: Record<string, number> = {};
  readonly #maxPoints: number;
  readonly #maxEvals: number;
  readonly #maxLogs: number;

  /** Starts from `snapshot` (e.g. one fetched from `/api/history`). */
  constructor(
    snapshot: RunSnapshot = emptySnapshot(),
    limits: RunStateLimits = {},
  ) {
    this.snapshot = snapshot;
    this.#maxPoints = Math.max(2, limits.maxPoints ?? 1000);
    this.#maxEvals = limits.maxEvals ?? 200;
    this.#maxLogs = limits.maxLogs ?? 200;
  }

  /** Listens to `bus`; returns a function that stops listening. */
  subscribe(bus: EventBus): () => void {
    return bus.on((e) => this.apply(e));
  }

  /** The phase named `name`, created as running when unknown. */
  phaseState(name: string): PhaseState {
    let p = this.snapshot.phases.find((q) => q.name === name);
    if (!p) {
      p = {
        name,
        status: "running",
        done: 0,
        total: 0,
        unit: "steps",
        metrics: {},
        evals: [],
      };
      this.snapshot.phases.push(p);
    }
    return p;
  }

  /** Applies one event. */
  apply(e: RunEvent): void {
    const s = this.snapshot;
    s.seq++;
    this.counts[e.type] = (this.counts[e.type] ?? 0) + 1;
    switch (e.type) {
      case "run-start":
        Object.assign(s, emptySnapshot(), {
          seq: s.seq,
          recipe: e.recipe,
          backend: e.backend,
          out: e.out,
          config: e.config,
          running: true,
        });
        break;
      case "run-end":
        this.finish(e.seconds, e.error ?? null);
        break;
      case "phase-start": {
        this.#settle(e.phase, "done");
        const p = this.phaseState(e.phase);
        Object.assign(p, {
          status: "running",
          done: 0,
          total: e.total,
          unit: e.unit,
        });
        s.phase = e.phase;
        break;
      }
      case "progress": {
        const p = this.phaseState(e.phase);
        p.done = e.done;
        p.total = e.total;
        break;
      }
      case "step":
        this.#step(e);
        break;
      case "eval":
        pushBounded(
          this.phaseState(e.phase).evals,
          { step: e.step, metrics: e.metrics },
          this.#maxEvals,
        );
        break;
      case "phase-end": {
        const p = this.phaseState(e.phase);
        p.status = e.skipped ? "skipped" : "done";
        p.metrics = e.metrics;
        if (p.total > 0 && !e.skipped) p.done = p.total;
        break;
      }
      case "log":
        pushBounded(s.logs, e.message, this.#maxLogs);
        break;
    }
  }

  /**
   * Marks the run ended: not running, and every phase still running done
   * (`failed` when `error` is set). `run-end` calls it; so may a reader that
   * knows the run finished otherwise (its `report.json` exists).
   */
  finish(seconds: number | null, error: string | null = null): void {
    const s = this.snapshot;
    s.running = false;
    s.finished = true;
    s.seconds = seconds;
    s.error = error;
    this.#settle(null, error === null ? "done" : "failed");
  }

  /** Running phases other than `except` get `status`. */
  #settle(except: string | null, status: "done" | "failed"): void {
    for (const p of this.snapshot.phases) {
      if (p.status === "running" && p.name !== except) p.status = status;
    }
  }

  #step(e: StepEvent): void {
    const s = this.snapshot;
    s.last = e;
    s.phase = e.phase;
    const p = this.phaseState(e.phase);
    p.done = e.step;
    p.total = e.totalSteps;
    const series = s.history[e.phase] ??= { stride: 1, points: [] };
    if ((e.step - 1) % series.stride !== 0) return;
    series.points.push({
      step: e.step,
      loss: e.loss,
      losses: e.losses,
      lr: e.lr,
      imagesPerSec: e.imagesPerSec,
      gradNorm: e.gradNorm,
    });
    while (series.points.length > this.#maxPoints) {
      const stride = series.stride * 2;
      series.points = series.points.filter((q) => (q.step - 1) % stride === 0);
      series.stride = stride;
    }
  }
}
