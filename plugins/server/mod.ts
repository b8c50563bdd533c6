/**
 * The status server: a read-only Hono API and dashboard for live and
 * finished runs. Start it beside a run with `startStatusServer({ bus })`, or
 * over a runs folder with `deno task serve --runs DIR`.
 *
 * @module
 */
import { definePlugin, type Plugin } from "../../core/registry.ts";

export { createStatusApp, memoryInfo, type StatusAppOptions } from "./app.ts";
export {
  DEFAULT_SERVE_HOST,
  DEFAULT_SERVE_PORT,
  isLoopback,
  parseServeAddress,
  startStatusServer,
  type StatusServer,
  type StatusServerOptions,
} from "./serve.ts";
export {
  emptySnapshot,
  type EvalPoint,
  type PhaseState,
  type RunSnapshot,
  RunState,
  type RunStateLimits,
  type StepPoint,
  type StepSeries,
} from "./state.ts";
export {
  isSafeRunId,
  readRunDetail,
  readRunEvents,
  type RunDetail,
  RunsDir,
  type RunSummary,
} from "./runs.ts";
export {
  escapeLabelValue,
  type MemoryInfo,
  toPrometheus,
} from "./prometheus.ts";
export { resolveInside } from "./static.ts";
export {
  addStudyRoutes,
  findStudies,
  readStudyResults,
  type StudySummary,
} from "./studies.ts";

/** The server registers no factories: it is started, not built from a recipe. */
const plugin: Plugin = definePlugin({ name: "server", setup() {} });
export default plugin;
