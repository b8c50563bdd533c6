import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import {
  isLoopback,
  parseServeAddress,
  startStatusServer,
} from "../plugins/server/serve.ts";
import { main as serveMain } from "../cli/serve.ts";
import { fakeStep } from "./server_helpers.ts";

// A token in the caller's environment would change what these tests see.
Deno.env.delete("SELFTRAIN_TOKEN");

Deno.test("server serve: loopback detection", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopback(h), h);
  }
  for (
    const h of [
      "0.0.0.0",
      "::",
      "192.168.1.2",
      "10.0.0.1",
      "example.com",
      "127.0.0.1.nip.io",
    ]
  ) {
    assert.ok(!isLoopback(h), h);
  }
});

Deno.test("server serve: --serve values parse to host and port", () => {
  assert.deepEqual(parseServeAddress(true), {
    hostname: "127.0.0.1",
    port: 8787,
  });
  assert.deepEqual(parseServeAddress(""), {
    hostname: "127.0.0.1",
    port: 8787,
  });
  assert.deepEqual(parseServeAddress("0.0.0.0:9000"), {
    hostname: "0.0.0.0",
    port: 9000,
  });
  assert.deepEqual(parseServeAddress(":9001"), {
    hostname: "127.0.0.1",
    port: 9001,
  });
  assert.deepEqual(parseServeAddress("9002"), {
    hostname: "127.0.0.1",
    port: 9002,
  });
  assert.deepEqual(parseServeAddress("localhost"), {
    hostname: "localhost",
    port: 8787,
  });
  assert.deepEqual(parseServeAddress("[::1]:9003"), {
    hostname: "::1",
    port: 9003,
  });
  assert.throws(
    () => parseServeAddress("host:http"),
    /--serve: bad port "http"/,
  );
  assert.throws(() => parseServeAddress("host:70000"), /bad port/);
});

Deno.test("server serve: a non-loopback bind without a token refuses to start", () => {
  const saved = Deno.env.get("SELFTRAIN_TOKEN");
  Deno.env.delete("SELFTRAIN_TOKEN");
  try {
    assert.throws(
      () => startStatusServer({ hostname: "0.0.0.0", port: 0 }),
      /refusing to bind 0\.0\.0\.0 without a token; pass --serve-token TOKEN or set SELFTRAIN_TOKEN/,
    );
  } finally {
    if (saved !== undefined) Deno.env.set("SELFTRAIN_TOKEN", saved);
  }
});

Deno.test("server serve: with SELFTRAIN_TOKEN a non-loopback bind needs the bearer token", async () => {
  const saved = Deno.env.get("SELFTRAIN_TOKEN");
  Deno.env.set("SELFTRAIN_TOKEN", "env-token");
  const server = startStatusServer({
    hostname: "0.0.0.0",
    port: 0,
    onListen: () => {},
  });
  try {
    const url = `http://127.0.0.1:${server.port}/api/status`;
    const denied = await fetch(url);
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const ok = await fetch(url, {
      headers: { authorization: "Bearer env-token" },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await server.shutdown();
    if (saved === undefined) Deno.env.delete("SELFTRAIN_TOKEN");
    else Deno.env.set("SELFTRAIN_TOKEN", saved);
  }
});

Deno.test("server serve: serves live bus events and shuts down with a stream open", async () => {
  const bus = new EventBus();
  let listened = "";
  const server = startStatusServer({
    port: 0,
    bus,
    onListen: (u) => (listened = u),
  });
  assert.equal(listened, server.url);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  bus.emit(fakeStep("teacher", 3, 10));
  const status = await (await fetch(`${server.url}api/status`)).json();
  assert.equal(status.step, 3);
  const sse = await fetch(`${server.url}api/events`);
  const reader = sse.body!.getReader();
  await reader.read(); // hello: the stream is open
  await server.shutdown(); // must not hang on the open stream
  // The client sees the stream end or the connection drop, never a hang.
  await (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  assert.equal(server.state.snapshot.last?.step, 3);
});

Deno.test("server serve: the serve CLI rejects bad arguments with one clear line", async () => {
  await assert.rejects(() => serveMain([]), /--runs is required/);
  await assert.rejects(
    () => serveMain(["--runs", "/nonexistent/runs"]),
    /--runs \/nonexistent\/runs: not a folder/,
  );
  const dir = await Deno.makeTempDir();
  // The recipes' --serve syntax, parsed by the same function.
  await assert.rejects(
    () => serveMain(["--runs", dir, "--serve", "host:x"]),
    /--serve: bad port "x" in "host:x"/,
  );
  await assert.rejects(
    () => serveMain(["--runs", dir, "--port", "9000"]),
    /Unknown option '--port'/,
  );
  const saved = Deno.env.get("SELFTRAIN_TOKEN");
  Deno.env.delete("SELFTRAIN_TOKEN");
  try {
    await assert.rejects(
      () => serveMain(["--runs", dir, "--serve", "0.0.0.0:0"]),
      /refusing to bind 0\.0\.0\.0 without a token; pass --serve-token TOKEN/,
    );
  } finally {
    if (saved !== undefined) Deno.env.set("SELFTRAIN_TOKEN", saved);
  }
});

Deno.test("server serve: deno task serve listens where --serve says, as the recipes do", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/serve.ts", "--runs", dir, "--serve", `:${port}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const res = await waitFor(`http://127.0.0.1:${port}/api/runs`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    child.kill("SIGINT");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

/** A port nothing listens on now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** Fetches `url`, retrying while the server starts. */
async function waitFor(url: string): Promise<Response> {
  for (let i = 0;; i++) {
    try {
      return await fetch(url);
    } catch (e) {
      if (i > 300) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
