/**
 * The read-only status API and dashboard as a Hono app. Live data comes from
 * a `RunState` folded from an `EventBus`; finished runs come from a runs
 * folder. Only GET and HEAD are answered; with a token, every request needs
 * `Authorization: Bearer <token>` (or `?token=` for the browser's page,
 * EventSource and image requests, which cannot set headers), except the
 * dashboard's static script and styles.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { basename, join } from "node:path";
import type { EventBus, RunEvent } from "../../core/events.ts";
import {
  type MemoryInfo,
  PROMETHEUS_CONTENT_TYPE,
  toPrometheus,
} from "./prometheus.ts";
import {
  readJsonFile,
  readRunDetail,
  readRunEvents,
  RunsDir,
  type RunSummary,
} from "./runs.ts";
import { RunState } from "./state.ts";
import { serveImage } from "./static.ts";
import { addStudyRoutes } from "./studies.ts";
import { UI_CSS, UI_HTML, UI_JS } from "./ui_bundle.ts";
import { sseFeed } from "./sse.ts";

/** Options of `createStatusApp`. */
export interface StatusAppOptions {
  /** Live events, streamed by `/api/events` and folded into the state. */
  bus?: EventBus;
  /** Live state; by default a new one subscribed to `bus`. */
  state?: RunState;
  /** Folder of finished runs (or one run folder). */
  runsDir?: string;
  /** Bearer token required on every request, when set. */
  token?: string;
  /** Extra memory figures, e.g. `() => tf.memory()` for tensor counts. */
  memory?: () => Partial<MemoryInfo>;
  /** Ends open event streams when aborted (server shutdown). */
  signal?: AbortSignal;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PUBLIC_ASSETS = new Set(["/ui/app.js", "/ui/app.css", "/favicon.ico"]);

/** True when `a` equals `b`, in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < y.length; i++) diff |= (x[i] ?? 0) ^ y[i];
  return diff === 0;
}

/** Process memory plus the caller's extra figures. */
export function memoryInfo(extra?: () => Partial<MemoryInfo>): MemoryInfo {
  const m = Deno.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    ...extra?.(),
  };
}

/** Builds the status app. */
export function createStatusApp(opts: StatusAppOptions = {}): Hono {
  const state = opts.state ?? new RunState();
  if (!opts.state && opts.bus) state.subscribe(opts.bus);
  const runs = opts.runsDir === undefined ? null : new RunsDir(opts.runsDir);
  const app = new Hono();

  app.onError((err, c) => c.json({ error: err.message }, 500));
  app.notFound((c) => c.json({ error: `not found: ${c.req.path}` }, 404));

  app.use("*", async (c, next) => {
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") {
      return c.json(
        { error: `${method} not allowed: the status server is read-only` },
        405,
        {
          allow: "GET, HEAD",
        },
      );
    }
    // The script, styles and icon are the package's own public code, not run
    // data; the page's <script>/<link> tags cannot send the token.
    if (opts.token !== undefined && !PUBLIC_ASSETS.has(c.req.path)) {
      const auth = c.req.header("authorization") ?? "";
      const given = auth.startsWith("Bearer ")
        ? auth.slice(7)
        : c.req.query("token") ?? "";
      if (!sameSecret(given, opts.token)) {
        return c.json({ error: "missing or wrong bearer token" }, 401, {
          "www-authenticate": 'Bearer realm="selftrain"',
        });
      }
    }
    await next();
    c.header("x-content-type-options", "nosniff");
  });

  app.get("/", (c) => c.html(UI_HTML, 200, { "content-security-policy": CSP }));
  app.get(
    "/ui/app.js",
    (c) =>
      c.body(UI_JS, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get(
    "/ui/app.css",
    (c) => c.body(UI_CSS, 200, { "content-type": "text/css; charset=utf-8" }),
  );

  app.get("/api/status", (c) => {
    const s = state.snapshot;
    const l = s.last;
    return c.json({
      seq: s.seq,
      live: opts.bus !== undefined,
      recipe: s.recipe,
      backend: s.backend,
      running: s.running,
      finished: s.finished,
      error: s.error,
      seconds: s.seconds,
      phase: s.phase,
      step: l?.step ?? null,
      totalSteps: l?.totalSteps ?? null,
      loss: l?.loss ?? null,
      losses: l?.losses ?? {},
      lr: l?.lr ?? null,
      imagesPerSec: l?.imagesPerSec ?? null,
      etaSec: l?.etaSec ?? null,
      elapsedSec: l?.elapsedSec ?? null,
      phases: s.phases.map(({ evals: _, ...p }) => p),
      memory: memoryInfo(opts.memory),
    });
  });
  app.get("/api/history", (c) => c.json(state.snapshot));

  app.get(
    "/api/metrics",
    (c) =>
      c.body(
        toPrometheus(state.snapshot, state.counts, memoryInfo(opts.memory)),
        200,
        {
          "content-type": PROMETHEUS_CONTENT_TYPE,
        },
      ),
  );

  app.get("/api/events", (c) => {
    if (c.req.method === "HEAD" || !opts.bus) {
      // HEAD must not hold a listener open; without a bus nothing will come.
      return c.body(null, opts.bus ? 200 : 404, {
        "content-type": "text/event-stream",
      });
    }
    const bus = opts.bus;
    return streamSSE(c, (stream) => sseFeed(stream, bus, state, opts.signal));
  });

  /** The live run's `out` folder, once it exists. */
  const liveDir = async (): Promise<string | null> => {
    const out = state.snapshot.out;
    if (!out) return null;
    try {
      return (await Deno.stat(out)).isDirectory ? out : null;
    } catch {
      return null;
    }
  };
  /** The folder of run `id`: from the runs folder, or the live run's `out`. */
  const runDir = async (id: string): Promise<string | null> => {
    const found = runs ? await runs.resolve(id) : null;
    if (found) return found;
    return await liveDir() === null || basename(state.snapshot.out) !== id
      ? null
      : state.snapshot.out;
  };
  const notFoundRun = (id: string) => ({ error: `no run "${id}"` });

  app.get("/api/runs", async (c) => {
    const list: RunSummary[] = runs ? await runs.list() : [];
    const out = await liveDir();
    if (out && !list.some((r) => r.id === basename(out))) {
      list.unshift({
        id: basename(out),
        recipe: state.snapshot.recipe,
        finished: false,
        mtimeMs: null,
      });
    }
    return c.json(list);
  });
  app.get("/api/runs/:id", async (c) => {
    const dir = await runDir(c.req.param("id"));
    return dir
      ? c.json(await readRunDetail(dir))
      : c.json(notFoundRun(c.req.param("id")), 404);
  });
  app.get("/api/runs/:id/events", async (c) => {
    const dir = await runDir(c.req.param("id"));
    return dir
      ? c.json(await readRunEvents(dir))
      : c.json(notFoundRun(c.req.param("id")), 404);
  });
  app.get("/api/runs/:id/history", async (c) => {
    const dir = await runDir(c.req.param("id"));
    if (!dir) return c.json(notFoundRun(c.req.param("id")), 404);
    const folded = new RunState();
    for (const e of await readRunEvents(dir)) folded.apply(e as RunEvent);
    // A report is written last: the run finished even if events.jsonl lacks
    // run-end (e.g. a process killed after writing it).
    const s = folded.snapshot;
    if (!s.finished) {
      const report = await readJsonFile<{ seconds?: unknown }>(
        join(dir, "report.json"),
      );
      if (report) {
        folded.finish(
          typeof report.seconds === "number" ? report.seconds : null,
        );
      }
    }
    return c.json(s);
  });
  app.get("/api/runs/:id/samples/*", async (c) => {
    const id = c.req.param("id");
    const dir = await runDir(id);
    // The raw (still-encoded) path, so `%2e%2e` and `%2f` are judged after one decode.
    const raw = new URL(c.req.url).pathname;
    const prefix = `/api/runs/${encodeURIComponent(id)}/samples/`;
    const rel = raw.startsWith(prefix) ? raw.slice(prefix.length) : "";
    const res = dir ? await serveImage(`${dir}/samples`, rel) : null;
    return res ?? c.json({ error: "no such sample image" }, 404);
  });

  if (opts.runsDir !== undefined) addStudyRoutes(app, opts.runsDir);
  else app.get("/api/studies", (c) => c.json([]));

  return app;
}
