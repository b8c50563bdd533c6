/**
 * `deno task classify --checkpoint DIR --images FOLDER [--json] [--top 5]
 * [--backend auto]`
 *
 * Classifies every JPEG/PNG in `--images` with a backbone checkpoint that
 * has a classification head (`deno task import-weights`, or a pre-training
 * recipe), preparing each image as the checkpoint's manifest says (resize,
 * centre crop, mean / std), and prints each image's top classes
 * (`--json`: one JSON array of `{file, top: [{class, label, prob}]}`).
 * Bad input exits with status 1 and a one-line error naming the path.
 */
import { parseCommand } from "./args.ts";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../core/backend.ts";
import { readImage } from "../image/codec.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  checkpointBatch,
  checkpointClassifier,
  disposeBackboneCheckpoint,
  readBackboneCheckpoint,
} from "../plugins/pretrain/mod.ts";

const USAGE =
  "usage: deno task classify --checkpoint DIR --images FOLDER [--json] [--top 5] [--backend auto]";

/** One image's result. */
export interface ClassifyRecord {
  /** File name inside the folder. */
  file: string;
  /** Best classes first. */
  top: { class: string; label: number; prob: number }[];
}

/** Classifies every image of `images`, in file-name order. */
export async function classifyFolder(
  checkpoint: string,
  images: string,
  top: number,
  backend = "auto",
): Promise<ClassifyRecord[]> {
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(images)) {
      if (e.isFile && /\.(jpe?g|png)$/i.test(e.name)) files.push(e.name);
    }
  } catch (e) {
    throw new Error(
      `${images}: cannot read folder: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (files.length === 0) {
    throw new Error(`${images}: no JPEG or PNG images in the folder`);
  }
  files.sort();
  const registry = createBuiltinRegistry();
  await selectBackend(registry.entries("backend"), backend);
  const ck = await readBackboneCheckpoint(checkpoint);
  let model;
  try {
    model = checkpointClassifier(ck, checkpoint, registry);
  } finally {
    disposeBackboneCheckpoint(ck);
  }
  const out: ClassifyRecord[] = [];
  try {
    for (const file of files) {
      const image = await readImage(`${images}/${file}`);
      const batch = checkpointBatch([image], model.preprocessing);
      const probs = tf.tidy(() => tf.softmax(model.logits(batch)));
      const p = (await probs.data()) as Float32Array;
      tf.dispose([batch, probs]);
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
      out.push({
        file,
        top: order.slice(0, top).map((label) => ({
          class: model.classes[label],
          label,
          prob: p[label],
        })),
      });
    }
  } finally {
    model.dispose();
  }
  return out;
}

/** Runs the CLI on `args`; returns the exit code (2 usage, 1 bad input). */
export async function main(args: string[]): Promise<number> {
  const values = parseCommand("classify", USAGE, args, {
    checkpoint: { type: "string" },
    images: { type: "string" },
    json: { type: "boolean", default: false },
    top: { type: "string", default: "5" },
    backend: { type: "string", default: "auto" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof values === "number") return values;
  const top = Number(values.top);
  if (
    !values.checkpoint || !values.images || !(Number.isInteger(top) && top >= 1)
  ) {
    console.error(
      `classify: --checkpoint and --images are required, --top >= 1\n${USAGE}`,
    );
    return 2;
  }
  try {
    const records = await classifyFolder(
      values.checkpoint,
      values.images,
      top,
      values.backend,
    );
    if (values.json) console.log(JSON.stringify(records));
    else {
      for (const r of records) {
        console.log(
          `${r.file}: ${
            r.top.map((t) => `${t.class} ${(100 * t.prob).toFixed(1)}%`).join(
              ", ",
            )
          }`,
        );
      }
    }
    return 0;
  } catch (e) {
    console.error(`classify: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
