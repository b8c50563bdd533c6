/**
 * Serves finished runs read-only: `deno task serve --runs DIR
 * [--serve HOST:PORT] [--serve-token T]`, the address and token flags of
 * the recipes' `--serve` (`HOST:PORT`, `:PORT`, `PORT`, `HOST` or
 * `[IPv6]:PORT`, one parser: `parseServeAddress`). DIR is a runs folder or
 * one run's folder. A non-loopback host needs `--serve-token` or env
 * `SELFTRAIN_TOKEN`.
 */
import { parseArgs } from "node:util";
import {
  parseServeAddress,
  startStatusServer,
} from "../plugins/server/serve.ts";

const USAGE =
  "usage: deno task serve --runs DIR [--serve HOST:PORT (default 127.0.0.1:8787)] [--serve-token TOKEN]";

/** Parses the arguments and starts the server; returns when it stops. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string" },
      serve: { type: "string", default: "" },
      "serve-token": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.runs) throw new Error(`--runs is required\n${USAGE}`);
  const stat = await Deno.stat(values.runs).catch(() => null);
  if (!stat?.isDirectory) {
    throw new Error(`--runs ${values.runs}: not a folder`);
  }
  const { hostname, port } = parseServeAddress(values.serve);
  const server = startStatusServer({
    hostname,
    port,
    token: values["serve-token"],
    runsDir: values.runs,
    onListen: (url) =>
      console.log(`serving ${values.runs} read-only at ${url}`),
  });
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`serve: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
