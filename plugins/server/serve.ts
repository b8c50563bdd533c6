/**
 * Starting the status server with `Deno.serve`. Loopback binds need nothing;
 * any other address needs a bearer token (option, or env `SELFTRAIN_TOKEN`)
 * because the API would otherwise be open to the network.
 */
import type { EventBus } from "../../core/events.ts";
import { createStatusApp } from "./app.ts";
import type { MemoryInfo } from "./prometheus.ts";
import { RunState } from "./state.ts";

/** Default address of `--serve`. */
export const DEFAULT_SERVE_HOST = "127.0.0.1";
/** Default port of `--serve`. */
export const DEFAULT_SERVE_PORT = 8787;

/** Options of `startStatusServer`. */
export interface StatusServerOptions {
  /** Address to bind (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 8787; 0 picks a free one). */
  port?: number;
  /** Bearer token; defaults to env `SELFTRAIN_TOKEN` when set. */
  token?: string;
  /** Live events of a run. */
  bus?: EventBus;
  /** Folder of finished runs (or one run folder). */
  runsDir?: string;
  /** Extra memory figures, e.g. `() => tf.memory()`. */
  memory?: () => Partial<MemoryInfo>;
  /** Called once listening, with the URL; default prints one line. */
  onListen?: (url: string) => void;
}

/** A running status server. */
export interface StatusServer {
  /** Base URL, e.g. `http://127.0.0.1:8787/`. */
  readonly url: string;
  /** Bound port. */
  readonly port: number;
  /** Live state folded from the bus. */
  readonly state: RunState;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops listening and detaches from the bus. */
  shutdown(): Promise<void>;
}

/** True for `localhost` and loopback IPv4 / IPv6 addresses. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === "::ffff:127.0.0.1";
}

/**
 * Parses a `--serve` value, the one address syntax of the recipes'
 * `--serve` and of `deno task serve`: `true` or `""` (the default
 * 127.0.0.1:8787), `HOST:PORT`, `HOST`, `:PORT`, `PORT`, or `[IPv6]:PORT`.
 */
export function parseServeAddress(
  spec: string | boolean,
): { hostname: string; port: number } {
  const s = typeof spec === "string" ? spec.trim() : "";
  let hostname = DEFAULT_SERVE_HOST;
  let portText = "";
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (v6) [hostname, portText] = [v6[1], v6[2] ?? ""];
  else if (/^\d+$/.test(s)) portText = s;
  else if (s.includes(":")) {
    const i = s.lastIndexOf(":");
    hostname = s.slice(0, i) || DEFAULT_SERVE_HOST;
    portText = s.slice(i + 1);
  } else if (s) hostname = s;
  const port = portText === "" ? DEFAULT_SERVE_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `--serve: bad port "${portText}" in "${s}" (expected HOST:PORT, e.g. 127.0.0.1:8787)`,
    );
  }
  return { hostname, port };
}

function envToken(): string | undefined {
  try {
    return Deno.env.get("SELFTRAIN_TOKEN") || undefined;
  } catch {
    return undefined; // no --allow-env: behave as unset
  }
}

/**
 * Starts the server. Throws before binding when the address is not loopback
 * and no token is given.
 */
export function startStatusServer(
  opts: StatusServerOptions = {},
): StatusServer {
  const hostname = opts.hostname ?? DEFAULT_SERVE_HOST;
  const token = opts.token || envToken();
  if (!isLoopback(hostname) && !token) {
    throw new Error(
      `status server: refusing to bind ${hostname} without a token; ` +
        `pass --serve-token TOKEN or set SELFTRAIN_TOKEN (or bind 127.0.0.1)`,
    );
  }
  const state = new RunState();
  const off = opts.bus ? state.subscribe(opts.bus) : () => {};
  const ac = new AbortController();
  const app = createStatusApp({
    signal: ac.signal,
    bus: opts.bus,
    state,
    runsDir: opts.runsDir,
    token,
    memory: opts.memory,
  });
  let url = "";
  const server = Deno.serve({
    hostname,
    port: opts.port ?? DEFAULT_SERVE_PORT,
    signal: ac.signal,
    onListen: (addr) => {
      const host = addr.hostname.includes(":")
        ? `[${addr.hostname}]`
        : addr.hostname;
      url = `http://${host}:${addr.port}/`;
      (opts.onListen ?? ((u) => console.error(`status server: ${u}`)))(url);
    },
  }, app.fetch);
  const port = (server.addr as Deno.NetAddr).port;
  if (!url) url = `http://${hostname}:${port}/`;
  return {
    url,
    port,
    state,
    finished: server.finished,
    async shutdown() {
      off();
      ac.abort();
      await server.finished;
    },
  };
}
