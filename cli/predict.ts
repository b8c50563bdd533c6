/**
 * `deno task predict --checkpoint DIR --images DIR --out DIR [--score 0.3]
 * [--backend auto] [--batch-size 4]`
 *
 * Runs a trained detector over every JPEG/PNG in `--images` (letterboxed to
 * the run's `data.inputSize` by the COCO loader, as in training) and writes
 * into `--out` each image with its boxes, class names and scores drawn, plus
 * `detections.json`: COCO-results-like records with the file name
 * (`{file_name, category, label, bbox: [x, y, w, h], score}`, source pixels).
 * `--checkpoint` may be a run folder (student, else teacher, else train
 * phase), a phase folder, a `checkpoints/` folder or a `step-*` folder.
 * Bad input exits with status 1 and a one-line error naming the path.
 */
import { parseArgs } from "node:util";
import { basename, resolve } from "node:path";
import { selectBackend } from "../core/backend.ts";
import { EventBus } from "../core/events.ts";
import { writeJsonAtomic } from "../core/fs.ts";
import { writeImage } from "../image/codec.ts";
import type { Detection } from "../core/types.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { CategoryMap } from "../plugins/coco/categories.ts";
import { CocoDetectionDataset } from "../plugins/coco/dataset.ts";
import { indexImageFolder } from "../plugins/coco/indexer.ts";
import { predictAll } from "../recipes/detection.ts";
import {
  drawDetections,
  SAMPLE_MIN_SCORE,
  sourceImage,
} from "../recipes/samples.ts";
import {
  findRunDir,
  loadTrainedDetector,
  readRunDetectorSpec,
  resolveCheckpoint,
} from "../recipes/trained_detector.ts";

const USAGE =
  "usage: deno task predict --checkpoint DIR --images DIR --out DIR [--score 0.3] [--backend auto] [--batch-size 4]";

/** One record of `detections.json`. */
export interface PredictRecord {
  /** Image file name inside `--images`. */
  file_name: string;
  /** Class name. */
  category: string;
  /** Contiguous class index (position in the run's `classes.json`). */
  label: number;
  /** `[x, y, width, height]` in source-image pixels. */
  bbox: [number, number, number, number];
  /** Confidence. */
  score: number;
}

function toRecords(
  file: string,
  detections: readonly Detection[],
  classNames: readonly string[],
  minScore: number,
): PredictRecord[] {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return detections.filter((d) => d.score >= minScore).map((d) => {
    const [x1, y1, x2, y2] = d.box;
    return {
      file_name: file,
      category: classNames[d.label] ?? String(d.label),
      label: d.label,
      bbox: [r2(x1), r2(y1), r2(x2 - x1), r2(y2 - y1)],
      score: Math.round(d.score * 1e5) / 1e5,
    };
  });
}

/** Runs the CLI on `args`; returns the exit code (2 usage, 1 bad input). */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        checkpoint: { type: "string" },
        images: { type: "string" },
        out: { type: "string" },
        score: { type: "string", default: String(SAMPLE_MIN_SCORE) },
        backend: { type: "string", default: "auto" },
        "batch-size": { type: "string", default: "4" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`predict: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.checkpoint || !values.images || !values.out) {
    console.error(
      `predict: --checkpoint, --images and --out are required\n${USAGE}`,
    );
    return 2;
  }
  const minScore = Number(values.score);
  const batchSize = Number(values["batch-size"]);
  if (!(minScore >= 0 && minScore <= 1) || !(batchSize >= 1)) {
    console.error(
      `predict: --score must be in [0, 1] and --batch-size >= 1\n${USAGE}`,
    );
    return 2;
  }
  try {
    await predictFolder({
      checkpoint: values.checkpoint,
      images: values.images,
      out: values.out,
      minScore,
      backend: values.backend,
      batchSize: Math.floor(batchSize),
    });
    return 0;
  } catch (e) {
    console.error(`predict: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

/** Options of `predictFolder`. */
export interface PredictFolderOptions {
  /** Run, phase, `checkpoints/` or `step-*` folder. */
  checkpoint: string;
  /** Folder of JPEG/PNG images. */
  images: string;
  /** Output folder. */
  out: string;
  /** Score threshold of drawn and listed detections. */
  minScore: number;
  /** Backend name or `auto`. */
  backend: string;
  /** Images per inference batch. */
  batchSize: number;
}

/** Predicts every image of a folder; returns the number of detections written. */
export async function predictFolder(o: PredictFolderOptions): Promise<number> {
  // Cheap checks first, so bad input fails before the model is built.
  if (resolve(o.out) === resolve(o.images)) {
    throw new Error(
      `${o.out}: --out must differ from --images (it would overwrite them)`,
    );
  }
  const stepDir = await resolveCheckpoint(o.checkpoint);
  const spec = await readRunDetectorSpec(await findRunDir(stepDir));
  const categories = new CategoryMap(
    spec.classNames.map((name, i) => ({ id: i + 1, name })),
  );
  const index = await indexImageFolder(o.images, categories, "fail");
  if (index.entries.length === 0) {
    throw new Error(`${o.images}: no JPEG or PNG images in the folder`);
  }
  const data = new CocoDetectionDataset(index, {
    inputSize: spec.inputSize,
    withTargets: false,
  });
  const registry = createBuiltinRegistry();
  const backend = await selectBackend(registry.entries("backend"), o.backend);
  console.error(`predict: backend ${backend.name} (${backend.why})`);
  console.error(`predict: checkpoint ${stepDir}`);
  const model = await loadTrainedDetector(registry, spec, stepDir);
  await Deno.mkdir(o.out, { recursive: true });
  const records: PredictRecord[] = [];
  try {
    await predictAll(
      model,
      data,
      o.batchSize,
      new EventBus(),
      "predict",
      async (preds, samples) => {
        for (let i = 0; i < preds.length; i++) {
          const file = basename(samples[i].meta?.file ?? String(preds[i].id));
          const image = await sourceImage(samples[i]);
          const dets = preds[i].detections ?? [];
          drawDetections(image, dets, spec.classNames, o.minScore);
          await writeImage(`${o.out}/${file}`, image);
          records.push(...toRecords(file, dets, spec.classNames, o.minScore));
        }
      },
    );
  } finally {
    model.dispose();
  }
  await writeJsonAtomic(`${o.out}/detections.json`, records, true);
  console.error(
    `predict: ${data.size} images, ${records.length} detections (score >= ${o.minScore}) -> ${o.out}`,
  );
  return records.length;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
