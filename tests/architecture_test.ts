/**
 * The layering of docs/architecture.md, checked on the real import graph:
 * core imports nothing outside itself, the packages (eval, image, selftrain, study)
 * import only core and each other, nothing imports upwards, there are no
 * import cycles, and core stays within its line budget.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));
const CORE_LINE_BUDGET = 3000;

/** Layer of a repo-relative path (lower may not import higher). */
function layerOf(path: string): number {
  const top = path.split("/")[0];
  if (top === "core") return 1;
  if (["eval", "image", "selftrain", "study"].includes(top)) return 2;
  if (top === "plugins") return 3;
  if (top === "recipes") return 4;
  return 5;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await sourceFiles(rel));
    else if (/\.tsx?$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** Repo-relative paths a file imports (relative specifiers only). */
function localImports(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g),
  ].map((m) => m[1]);
  return specs.map((s) =>
    relative(ROOT, normalize(join(ROOT, dirname(file), s)))
  );
}

const LAYERED = [
  "core",
  "eval",
  "image",
  "selftrain",
  "study",
  "plugins",
  "recipes",
];
const graph = new Map<string, string[]>();
const lines = new Map<string, number>();
for (const dir of LAYERED) {
  for (const file of await sourceFiles(dir)) {
    const text = await Deno.readTextFile(join(ROOT, file));
    graph.set(file, localImports(file, text));
    lines.set(file, text.split("\n").length - (text.endsWith("\n") ? 1 : 0));
  }
}

Deno.test("architecture: no file imports a higher layer", () => {
  assert.ok(graph.size > 100, `only ${graph.size} source files found`);
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      // plugins/builtin.ts registers the built-in recipes (documented exception).
      if (file === "plugins/builtin.ts" && dep.startsWith("recipes/")) continue;
      if (layerOf(dep) > layerOf(file)) bad.push(`${file} -> ${dep}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("architecture: core imports nothing outside core/", () => {
  const outside = [...graph].filter(([f]) => f.startsWith("core/"))
    .flatMap(([f, deps]) =>
      deps.filter((d) => !d.startsWith("core/")).map((d) => `${f} -> ${d}`)
    );
  assert.deepEqual(outside, []);
});

Deno.test("architecture: the import graph has no cycles", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test(`architecture: core/ is at most ${CORE_LINE_BUDGET} lines`, () => {
  const total = [...lines].filter(([f]) => f.startsWith("core/"))
    .reduce((n, [, l]) => n + l, 0);
  assert.ok(
    total <= CORE_LINE_BUDGET,
    `core/ has ${total} lines (budget ${CORE_LINE_BUDGET})`,
  );
});
