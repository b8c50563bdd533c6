/**
 * `deno task import-weights --from torchvision --model efficientnet-b0
 * --in weights.safetensors --out DIR [--width-mult W --depth-mult D]
 * [--input-size N] [--resize N] [--classes FILE]`
 *
 * Converts torchvision EfficientNet-B0…B7 weights (a safetensors file of
 * the state dict, e.g. `safetensors.torch.save_file(model.state_dict(), F)`)
 * into a backbone checkpoint (`backbone.json` + `model.json` +
 * `weights.bin`) with the classifier head under `head.*`, usable as
 * `--model.init=DIR` and by `deno task classify`. No Python at run time.
 * Bad input exits with status 1 and a one-line error naming the file.
 */
import { parseCommand } from "./args.ts";
import { readJson } from "../core/fs.ts";
import {
  importTorchvisionEfficientNet,
  readSafetensors,
  saveBackboneCheckpoint,
} from "../plugins/pretrain/mod.ts";
import { selectBackend } from "../core/backend.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import * as tf from "@tensorflow/tfjs-core";

const USAGE =
  "usage: deno task import-weights --from torchvision --model efficientnet-b0 --in FILE.safetensors --out DIR [--width-mult W] [--depth-mult D] [--input-size N] [--resize N] [--classes FILE]";

async function classNames(path: string): Promise<string[]> {
  if (path.endsWith(".json")) {
    const v = await readJson<unknown>(path);
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      throw new Error(`${path}: expected a JSON array of class names`);
    }
    return v;
  }
  return (await Deno.readTextFile(path)).split("\n").map((l) => l.trim())
    .filter(Boolean);
}

async function sha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const h = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Runs the CLI on `args`; returns the exit code (2 usage, 1 bad input). */
export async function main(args: string[]): Promise<number> {
  const values = parseCommand("import-weights", USAGE, args, {
    from: { type: "string" },
    model: { type: "string" },
    in: { type: "string" },
    out: { type: "string" },
    "width-mult": { type: "string", default: "0" },
    "depth-mult": { type: "string", default: "0" },
    "input-size": { type: "string" },
    resize: { type: "string" },
    classes: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof values === "number") return values;
  if (
    values.from !== "torchvision" || !values.model || !values.in || !values.out
  ) {
    console.error(
      `import-weights: --from torchvision, --model, --in and --out are required\n${USAGE}`,
    );
    return 2;
  }
  const num = (k: "width-mult" | "depth-mult" | "input-size" | "resize") =>
    values[k] === undefined ? undefined : Number(values[k]);
  const nums = [
    num("width-mult"),
    num("depth-mult"),
    num("input-size"),
    num("resize"),
  ];
  if (nums.some((v) => v !== undefined && !(v >= 0))) {
    console.error(`import-weights: numeric options must be >= 0\n${USAGE}`);
    return 2;
  }
  try {
    // Weight conversion is plain tensor work: the CPU backend is enough.
    const registry = createBuiltinRegistry();
    await selectBackend(registry.entries("backend"), "cpu");
    const tensors = await readSafetensors(values.in);
    const imported = importTorchvisionEfficientNet(tensors, {
      model: values.model,
      file: values.in,
      widthScale: nums[0],
      depthScale: nums[1],
      inputSize: nums[2],
      resizeTo: nums[3],
      classes: values.classes ? await classNames(values.classes) : undefined,
      provenance: { sha256: await sha256(values.in) },
    });
    try {
      await saveBackboneCheckpoint(
        values.out,
        imported.variables,
        imported.manifest,
      );
    } finally {
      tf.dispose(imported.variables.map(([, t]) => t));
    }
    console.error(
      `import-weights: ${imported.variables.length} tensors of ${values.model} (${imported.manifest.classes?.length} classes) -> ${values.out}`,
    );
    return 0;
  } catch (e) {
    console.error(`import-weights: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
