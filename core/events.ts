/**
 * Run events: everything a run reports (steps, evaluations, phases) goes
 * through one typed bus, which the console logger, the metrics files and the
 * status server all listen to.
 */

/** What every event about one phase has: its type and the phase's name. */
export interface PhaseEventBase<T extends string> {
  /** Event type. */
  type: T;
  /** Phase name (e.g. `teacher`, `student`). */
  phase: string;
}

/** A training step finished. */
export interface StepEvent extends PhaseEventBase<"step"> {
  /** Step just finished, 1-based. */
  step: number;
  /** Total steps of the phase. */
  totalSteps: number;
  /** Total loss. */
  loss: number;
  /** Loss components by name. */
  losses: Record<string, number>;
  /** Learning rate used for the step. */
  lr: number;
  /** Training throughput over the last step. */
  imagesPerSec: number;
  /** Seconds since the phase started. */
  elapsedSec: number;
  /** Estimated seconds left in the phase. */
  etaSec: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** A phase (teacher training, pseudo-labelling, ...) started. */
export interface PhaseStartEvent extends PhaseEventBase<"phase-start"> {
  /** Units of work in the phase (steps, images). */
  total: number;
  /** Unit name for progress display. */
  unit: string;
}

/** Progress inside a non-training phase (labelling, evaluation). */
export interface ProgressEvent extends PhaseEventBase<"progress"> {
  /** Units done. */
  done: number;
  /** Units in all. */
  total: number;
}

/** A phase finished, with its metrics if any. */
export interface PhaseEndEvent extends PhaseEventBase<"phase-end"> {
  /** Metrics of the phase (AP, accuracy, counts). */
  metrics: Record<string, number>;
  /** True when the phase was skipped because its results already existed. */
  skipped: boolean;
}

/** An evaluation finished. */
export interface EvalEvent extends PhaseEventBase<"eval"> {
  /** Step at which it ran. */
  step: number;
  /** Metrics by name. */
  metrics: Record<string, number>;
}

/** The run started. */
export interface RunStartEvent {
  /** Event type. */
  type: "run-start";
  /** Recipe name. */
  recipe: string;
  /** Output folder. */
  out: string;
  /** Backend chosen. */
  backend: string;
  /** Full resolved config. */
  config: Record<string, unknown>;
}

/** The run ended. */
export interface RunEndEvent {
  /** Event type. */
  type: "run-end";
  /** Recipe name. */
  recipe: string;
  /** Wall seconds. */
  seconds: number;
  /** Set when the run failed. */
  error?: string;
}

/** A free-form log line. */
export interface LogEvent {
  /** Event type. */
  type: "log";
  /** Message. */
  message: string;
}

/** Every event a run emits. */
export type RunEvent =
  | StepEvent
  | PhaseStartEvent
  | ProgressEvent
  | PhaseEndEvent
  | EvalEvent
  | RunStartEvent
  | RunEndEvent
  | LogEvent;

/** Synchronous fan-out of run events to listeners. */
export class EventBus {
  readonly #listeners = new Set<(event: RunEvent) => void>();

  /** Adds a listener; returns a function that removes it. */
  on(listener: (event: RunEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends `event` to every listener; a failing listener does not stop the run. */
  emit(event: RunEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (e) {
        console.error(`event listener failed: ${(e as Error).message}`);
      }
    }
  }
}
