/**
 * Installs the system packages selftrain uses, when they are missing and
 * this machine can install them (root + apt-get): oneDNN (its sgemm is the
 * fastest here) and OpenBLAS for the `native` backend and, for the test suite, Chromium for the dashboard's end-to-end
 * test and Mesa's Vulkan drivers (lavapipe, a CPU WebGPU adapter) for the
 * `webgpu` parity tests. Everything is optional: without them `auto` falls back to `wasm`
 * and the browser test is skipped with a message. Set
 * `SELFTRAIN_NO_INSTALL=1` to never install anything.
 *
 *   deno run -A tools/ensure_deps.ts [--test]
 */
const wantTest = Deno.args.includes("--test");

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function hasLibrary(...names: string[]): boolean {
  const dirs = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib",
    "/usr/local/lib",
  ];
  return dirs.some((d) => names.some((n) => exists(`${d}/${n}`)));
}

const missing: string[] = [];
if (Deno.build.os === "linux") {
  if (!hasLibrary("libdnnl.so.2", "libdnnl.so.3")) missing.push("libdnnl2");
  if (!hasLibrary("libopenblas.so.0", "openblas-pthread/libopenblas.so.0")) {
    missing.push("libopenblas0");
  }
}
if (wantTest && Deno.build.os === "linux" && !exists("/usr/bin/chromium")) {
  missing.push("chromium");
}
/** True when Mesa's lavapipe Vulkan driver is registered. */
function hasLavapipe(): boolean {
  try {
    for (const e of Deno.readDirSync("/usr/share/vulkan/icd.d")) {
      if (e.name.startsWith("lvp_icd")) return true;
    }
  } catch {
    // no Vulkan drivers at all
  }
  return false;
}
if (wantTest && Deno.build.os === "linux" && !hasLavapipe()) {
  missing.push("mesa-vulkan-drivers");
}

async function run(cmd: string[]): Promise<boolean> {
  const p = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "null",
    stderr: "inherit",
  });
  return (await p.output()).success;
}

if (missing.length) {
  const canInstall = Deno.build.os === "linux" && Deno.uid?.() === 0 &&
    exists("/usr/bin/apt-get") &&
    Deno.env.get("SELFTRAIN_NO_INSTALL") !== "1";
  if (!canInstall) {
    console.error(
      `setup: optional packages missing: ${
        missing.join(" ")
      } (apt-get install -y ${missing.join(" ")})`,
    );
  } else {
    console.error(`setup: installing ${missing.join(" ")} with apt-get ...`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    Deno.env.set("DEBIAN_FRONTEND", env.DEBIAN_FRONTEND);
    const ok = await run(["apt-get", "update", "-qq"]) &&
      await run([
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        ...missing,
      ]);
    console.error(
      ok
        ? "setup: done"
        : "setup: apt-get failed; continuing without these packages",
    );
  }
}
