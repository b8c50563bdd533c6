/**
 * Console progress for long phases: a bar with ETA on a terminal, plain log
 * lines (about every 5%) otherwise, so CI logs stay readable.
 */
import type { EventBus, RunEvent } from "../core/events.ts";

/** Formats seconds as `1h02m`, `3m04s` or `12s`. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

/** Where progress is written. */
export interface ProgressSink {
  /** True for an interactive terminal (redraw a bar in place). */
  tty: boolean;
  /** Writes raw text. */
  write(text: string): void;
}

/** The standard-error sink of this process. */
export function stderrSink(): ProgressSink {
  const enc = new TextEncoder();
  return {
    tty: Deno.stderr.isTerminal(),
    write: (t) => void Deno.stderr.writeSync(enc.encode(t)),
  };
}

/** Subscribes a progress display to `bus`; returns the unsubscribe function. */
export function attachProgress(bus: EventBus, sink: ProgressSink): () => void {
  let lastBucket = -1;
  let phaseStart = 0;
  let barOpen = false;
  const line = (text: string) => {
    if (barOpen) sink.write("\n");
    barOpen = false;
    sink.write(text + "\n");
  };
  const show = (
    phase: string,
    done: number,
    total: number,
    extra: string,
    eta: number,
  ) => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    if (sink.tty) {
      const width = 24, fill = Math.round(frac * width);
      const bar = "#".repeat(fill) + ".".repeat(width - fill);
      sink.write(
        `\r${phase} [${bar}] ${done}/${total} ${extra} ETA ${
          formatDuration(eta)
        }\x1b[K`,
      );
      barOpen = true;
      return;
    }
    const bucket = Math.floor(frac * 20);
    if (bucket !== lastBucket || done === total) {
      lastBucket = bucket;
      line(`${phase} ${done}/${total} ${extra} ETA ${formatDuration(eta)}`);
    }
  };
  return bus.on((e: RunEvent) => {
    switch (e.type) {
      case "phase-start":
        lastBucket = -1;
        phaseStart = performance.now();
        line(`== ${e.phase}: ${e.total} ${e.unit}`);
        break;
      case "step": {
        const parts = Object.entries(e.losses).map(([k, v]) =>
          `${k} ${v.toFixed(4)}`
        );
        show(
          e.phase,
          e.step,
          e.totalSteps,
          `loss ${e.loss.toFixed(4)}${
            parts.length ? ` (${parts.join(", ")})` : ""
          } lr ${e.lr.toPrecision(3)} ${e.imagesPerSec.toFixed(1)} img/s`,
          e.etaSec,
        );
        break;
      }
      case "progress": {
        const el = (performance.now() - phaseStart) / 1000;
        show(
          e.phase,
          e.done,
          e.total,
          "",
          e.done ? (el / e.done) * (e.total - e.done) : NaN,
        );
        break;
      }
      case "phase-end": {
        const m = Object.entries(e.metrics).slice(0, 6).map(([k, v]) =>
          `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`
        );
        line(
          `== ${e.phase} ${e.skipped ? "skipped (already done)" : "done"}${
            m.length ? ": " + m.join(", ") : ""
          }`,
        );
        break;
      }
      case "log":
        line(e.message);
        break;
      case "eval":
      case "run-start":
      case "run-end":
        break;
    }
  });
}
