/// <reference lib="dom" />
/**
 * Server access for the dashboard. A token given in the page URL
 * (`?token=` or `#token=`) is sent as a bearer header on fetches and as
 * `?token=` where the browser cannot set headers (EventSource, images).
 */
import type { RunSnapshot } from "../plugins/server/state.ts";

const fromUrl = new URLSearchParams(location.search).get("token") ??
  new URLSearchParams(location.hash.slice(1)).get("token");
/** The bearer token, if the page was opened with one. */
export const TOKEN: string | null = fromUrl;

/** `path` with the token as a query parameter when there is one. */
export function withToken(path: string): string {
  if (!TOKEN) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${
    encodeURIComponent(TOKEN)
  }`;
}

/** GETs JSON from the API; errors carry the server's message. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, {
    headers: TOKEN ? { authorization: `Bearer ${TOKEN}` } : {},
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error ?? ""}`);
  return body as T;
}

/** `/api/status`, the parts the dashboard reads. */
export interface StatusReply {
  /** True when the server follows a live run's events. */
  live: boolean;
  /** Process and tensor memory. */
  memory: {
    rss: number;
    heapUsed: number;
    numTensors?: number;
    numBytes?: number;
  };
}

/** A run in `/api/runs`. */
export interface RunListItem {
  /** Folder name. */
  id: string;
  /** Recipe, if known. */
  recipe: string | null;
  /** True when `report.json` exists. */
  finished: boolean;
}

/** A model of a self-training report: its metrics and training budget. */
export interface ReportModel {
  /** Metrics as fractions: COCO AP (-1: not defined), or mIoU, pixel accuracy, `IoU/<class>`. */
  metrics?: Record<string, number>;
  /** Optimisation steps. */
  steps?: number;
  /** Initialisation (`teacher`, `random`, ...). */
  init?: string;
  /** Baseline: true when the teacher is the compute-matched baseline. */
  reusedTeacher?: boolean;
  /** Human-labelled images per step. */
  humanPerStep?: number;
  /** Pseudo-labelled images per step. */
  pseudoPerStep?: number;
}

/** Pseudo-label statistics of a self-training report. */
export interface PseudoLabelReport {
  /** `pixels` for pseudo masks (segmentation); boxes otherwise. */
  unit?: string;
  /** Masks: fraction of pseudo-mask pixels ignored (255). */
  ignored_fraction?: number;
  /** Images labelled. */
  images?: number;
  /** Boxes kept. */
  boxes?: number;
  /** Boxes turned into ignore regions. */
  ignored?: number;
  /** Teacher scores: `counts[i]` boxes scored from `edges[i]` up. */
  score_histogram?: { edges?: number[]; counts?: number[] } | null;
  /** The pseudo-label COCO file. */
  file?: string;
  /** Kept boxes (masks: labelled pixels) per class name. */
  per_class?: Record<string, number>;
  /** Human-labelled boxes (masks: pixels) per class name. */
  human_per_class?: Record<string, number>;
  /** Preview image names under the run's `samples/`. */
  previews?: string[];
}

/** `report.json` of a run; every field may be missing (older runs). */
export interface SelfTrainReport {
  /** Recipe name. */
  recipe?: string;
  /** `segmentation` for the segmentation recipes; absent for detection. */
  task?: string;
  /** The teacher. */
  teacher?: ReportModel;
  /** The compute-matched supervised baseline. */
  baseline?: ReportModel;
  /** The student. */
  student?: ReportModel;
  /** Student minus baseline / teacher, per metric. */
  delta?: {
    baseline?: Record<string, number>;
    teacher?: Record<string, number>;
  };
  /** Pseudo-label statistics. */
  pseudo_labels?: PseudoLabelReport | null;
  /** Wall seconds. */
  seconds?: number;
}

/** `/api/runs/:id`. */
export interface RunDetailReply {
  /** Folder name. */
  id: string;
  /** Metrics per phase from `<phase>/metrics.json`. */
  metrics: Record<string, Record<string, number>>;
  /** `config.json`. */
  config?: Record<string, unknown> | null;
  /** `report.json`. */
  report: SelfTrainReport | null;
  /** Sample image names under `samples/`. */
  samples: string[];
}

/** The snapshot of the live run. */
export function liveHistory(): Promise<RunSnapshot> {
  return getJson<RunSnapshot>("api/history");
}

/** The snapshot folded from a finished run's `events.jsonl`. */
export function runHistory(id: string): Promise<RunSnapshot> {
  return getJson<RunSnapshot>(`api/runs/${encodeURIComponent(id)}/history`);
}

/** Config, metrics, report and samples of run `id`. */
export function runDetail(id: string): Promise<RunDetailReply> {
  return getJson<RunDetailReply>(`api/runs/${encodeURIComponent(id)}`);
}

/** URL of a sample image of run `id`. */
export function sampleUrl(id: string, name: string): string {
  return withToken(
    `api/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(name)}`,
  );
}
