/**
 * `deno task augment-preview --policy S4 [--data NAME|DIR] --out grid.png
 *   [--n 16] [--seed 0] [--size 256] [--opt key=value ...]`
 *
 * Renders a grid of augmented samples with their boxes and masks drawn.
 * `--policy` is any registered augmenter (S1–S4, autoaugment, randaugment,
 * flip, scale-jitter); `--opt` overrides its config (e.g. `--opt m=5`).
 * `--data` is a registered dataset plugin or a folder of images; without it
 * the built-in synthetic data is used. Sample `i` is augmented with
 * `new Rng(seedFor(seed, 0, i))`, as the training loader does for epoch 0.
 */
import { parseCommand } from "./args.ts";
import { readImage, writeImage } from "../image/codec.ts";
import { Rng, seedFor } from "../core/rng.ts";
import type { Registry } from "../core/registry.ts";
import type { Sample } from "../core/types.ts";
import augment from "../plugins/augment/mod.ts";
import {
  demoSamples,
  letterbox,
  renderGrid,
} from "../plugins/augment/preview.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";

const USAGE =
  "usage: deno task augment-preview --policy S4 [--data NAME|DIR] " +
  "--out grid.png [--n 16] [--seed 0] [--size 256] [--opt key=value ...]";

interface Loaded {
  samples: Sample[];
  classNames?: readonly string[];
}

async function fromDataset(
  registry: Registry,
  name: string,
  n: number,
): Promise<Loaded> {
  const splits = await registry.create("dataset", name);
  const ds = splits.train;
  if (ds.size === 0) {
    throw new Error(`dataset "${name}" has no training samples`);
  }
  const samples: Sample[] = [];
  for (let i = 0; i < Math.min(n, ds.size); i++) samples.push(await ds.get(i));
  return { samples, classNames: ds.classNames };
}

async function fromFolder(dir: string, n: number): Promise<Loaded> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /\.(jpe?g|png)$/i.test(e.name)) files.push(e.name);
  }
  if (files.length === 0) throw new Error(`${dir}: no .jpg or .png images`);
  files.sort();
  const samples: Sample[] = [];
  for (const f of files.slice(0, n)) {
    samples.push({ id: f, image: await readImage(`${dir}/${f}`) });
  }
  return { samples };
}

async function loadData(
  registry: Registry,
  data: string | undefined,
  n: number,
  size: number,
  seed: number,
): Promise<Loaded> {
  if (data === undefined) {
    return registry.has("dataset", "synthetic-shapes")
      ? fromDataset(registry, "synthetic-shapes", n)
      : { samples: demoSamples(n, size, seed) };
  }
  if (registry.has("dataset", data)) return fromDataset(registry, data, n);
  const stat = await Deno.stat(data).catch(() => null);
  if (stat?.isDirectory) return fromFolder(data, n);
  throw new Error(
    `--data "${data}" is neither a folder nor a dataset; datasets: ${
      registry.list("dataset").join(", ") || "(none)"
    }`,
  );
}

/** Runs the CLI on `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const values = parseCommand("augment-preview", USAGE, args, {
    policy: { type: "string", default: "S4" },
    data: { type: "string" },
    out: { type: "string" },
    n: { type: "string", default: "16" },
    seed: { type: "string", default: "0" },
    size: { type: "string", default: "256" },
    opt: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof values === "number") return values;
  try {
    if (!values.out) throw new Error("--out is required");
    const n = Number(values.n),
      seed = Number(values.seed),
      size = Number(values.size);
    for (const [k, v] of [["n", n], ["seed", seed], ["size", size]] as const) {
      if (!Number.isInteger(v) || v < 0 || (k !== "seed" && v === 0)) {
        throw new Error(
          `--${k} must be a ${
            k === "seed" ? "non-negative" : "positive"
          } integer`,
        );
      }
    }
    const overrides: Record<string, string> = {};
    for (const kv of values.opt) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new Error(`--opt expects key=value, got "${kv}"`);
      overrides[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const registry = createBuiltinRegistry();
    if (!registry.has("augmenter", "S1")) registry.use(augment);
    const aug = registry.create("augmenter", values.policy, overrides);
    const { samples, classNames } = await loadData(
      registry,
      values.data,
      n,
      size,
      seed,
    );
    const out: Sample[] = [];
    for (let i = 0; i < n; i++) {
      const s = letterbox(samples[i % samples.length], size);
      out.push(aug.apply(s, new Rng(seedFor(seed, 0, i))));
    }
    const grid = renderGrid(out, { tile: size, classNames });
    await writeImage(values.out, grid);
    console.log(
      `augment-preview: ${n} samples (${values.policy}) → ${values.out} ` +
        `(${grid.width}×${grid.height})`,
    );
    return 0;
  } catch (e) {
    console.error(`augment-preview: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
