/**
 * `deno task predict --checkpoint DIR --images DIR --out DIR [--score 0.3]
 * [--masks] [--backend auto] [--batch-size 4]`
 *
 * Runs a trained model over every JPEG/PNG in `--images` (letterboxed to
 * the run's `data.inputSize`, as in training) and writes into `--out` each
 * image, at its own size and under its own name, with the predictions
 * drawn:
 *
 * - a detector (`coco-*` runs): boxes, class names and scores, plus
 *   `detections.json`, COCO-results-like records with the file name
 *   (`{file_name, category, label, bbox: [x, y, w, h], score}`, source
 *   pixels);
 * - a segmenter (`pascal-*` runs): the predicted mask blended in, each
 *   class in its VOC palette colour; with `--masks`, also
 *   `masks/<name>.png`, VOC-palette PNGs of the class indices at source
 *   size, what `deno task eval voc --pred` reads.
 *
 * `--checkpoint` may be a run folder (student, else teacher, else train
 * phase), a phase folder, a `checkpoints/` folder or a `step-*` folder.
 * Bad input exits with status 1 and a one-line error naming the path.
 */
import { parseCommand } from "./args.ts";
import { basename, resolve } from "node:path";
import { selectBackend } from "../core/backend.ts";
import { EventBus } from "../core/events.ts";
import { writeFileAtomic, writeJsonAtomic } from "../core/fs.ts";
import { writeImage } from "../image/codec.ts";
import { readImageSize } from "../image/header.ts";
import { encodeMaskPng } from "../image/mask_png.ts";
import type {
  Dataset,
  Detection,
  Prediction,
  RawImage,
} from "../core/types.ts";
import { overlayMask } from "../plugins/augment/preview.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { CategoryMap } from "../plugins/coco/categories.ts";
import { CocoDetectionDataset } from "../plugins/coco/dataset.ts";
import { indexImageFolder } from "../plugins/coco/indexer.ts";
import { folderEntries, SegmentationDataset } from "../plugins/voc/mod.ts";
import { predictAll } from "../recipes/detection.ts";
import {
  drawDetections,
  SAMPLE_MIN_SCORE,
  sampleFileStem,
  sourceImage,
} from "../recipes/samples.ts";
import {
  findRunDir,
  loadTrainedModel,
  readRunModelSpec,
  resolveCheckpoint,
  type RunModelSpec,
} from "../recipes/trained_model.ts";

const USAGE =
  "usage: deno task predict --checkpoint DIR --images DIR --out DIR [--score 0.3] [--masks] [--backend auto] [--batch-size 4]";

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
  const values = parseCommand("predict", USAGE, args, {
    checkpoint: { type: "string" },
    images: { type: "string" },
    out: { type: "string" },
    score: { type: "string", default: String(SAMPLE_MIN_SCORE) },
    masks: { type: "boolean", default: false },
    backend: { type: "string", default: "auto" },
    "batch-size": { type: "string", default: "4" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof values === "number") return values;
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
      masks: values.masks,
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
  /** Segmentation: also write `masks/<name>.png` (class indices). */
  masks?: boolean;
  /** Backend name or `auto`. */
  backend: string;
  /** Images per inference batch. */
  batchSize: number;
}

/** The images of `--images` as the run's model sees them. */
async function imageFolder(dir: string, spec: RunModelSpec): Promise<Dataset> {
  if (spec.task === "segmentation") {
    const entries = await folderEntries(dir);
    // Headers now, so a bad file fails before the model is built.
    for (const e of entries) {
      if (!readImageSize(await Deno.readFile(e.image))) {
        throw new Error(
          `${e.image}: unreadable image (not a valid JPEG or PNG)`,
        );
      }
    }
    return await SegmentationDataset.open(entries, {
      inputSize: spec.inputSize,
      onError: "fail",
      classNames: spec.classNames,
    });
  }
  const categories = new CategoryMap(
    spec.classNames.map((name, i) => ({ id: i + 1, name })),
  );
  const index = await indexImageFolder(dir, categories, "fail");
  return new CocoDetectionDataset(index, {
    inputSize: spec.inputSize,
    withTargets: false,
  });
}

/** Draws one prediction on its source image and writes what the task writes. */
interface PredictionWriter {
  /** Handles image `file`; returns the image with the prediction drawn. */
  draw(file: string, image: RawImage, p: Prediction): Promise<RawImage>;
  /** After the last image; returns the summary line's count. */
  finish(): Promise<string>;
}

function detectionWriter(
  o: PredictFolderOptions,
  classNames: readonly string[],
): PredictionWriter {
  const records: PredictRecord[] = [];
  return {
    draw(file, image, p) {
      const dets = p.detections ?? [];
      drawDetections(image, dets, classNames, o.minScore);
      records.push(...toRecords(file, dets, classNames, o.minScore));
      return Promise.resolve(image);
    },
    async finish() {
      await writeJsonAtomic(`${o.out}/detections.json`, records, true);
      return `${records.length} detections (score >= ${o.minScore})`;
    },
  };
}

function maskWriter(o: PredictFolderOptions): PredictionWriter {
  let pixels = 0, foreground = 0;
  return {
    async draw(file, image, p) {
      const mask = p.mask!;
      if (mask.length !== image.width * image.height) {
        throw new Error(
          `${file}: predicted mask has ${mask.length} pixels, image ${image.width}x${image.height}`,
        );
      }
      if (o.masks) {
        await writeFileAtomic(
          `${o.out}/masks/${sampleFileStem(file)}.png`,
          encodeMaskPng({
            data: mask,
            width: image.width,
            height: image.height,
          }),
        );
      }
      for (const v of mask) if (v !== 0) foreground++;
      pixels += mask.length;
      return overlayMask({ id: file, image, mask });
    },
    finish() {
      return Promise.resolve(
        `masks with ${
          (100 * foreground / (pixels || 1)).toFixed(1)
        }% non-background pixels${o.masks ? ` (PNGs in ${o.out}/masks)` : ""}`,
      );
    },
  };
}

/**
 * Predicts every image of a folder and writes the drawn images (and the
 * task's files, see the module doc) into `o.out`. Returns the number of
 * images.
 */
export async function predictFolder(o: PredictFolderOptions): Promise<number> {
  // Cheap checks first, so bad input fails before the model is built.
  if (resolve(o.out) === resolve(o.images)) {
    throw new Error(
      `${o.out}: --out must differ from --images (it would overwrite them)`,
    );
  }
  const stepDir = await resolveCheckpoint(o.checkpoint);
  const spec = await readRunModelSpec(await findRunDir(stepDir));
  const data = await imageFolder(o.images, spec);
  if (data.size === 0) {
    throw new Error(`${o.images}: no JPEG or PNG images in the folder`);
  }
  const registry = createBuiltinRegistry();
  const backend = await selectBackend(registry.entries("backend"), o.backend);
  console.error(`predict: backend ${backend.name} (${backend.why})`);
  console.error(`predict: checkpoint ${stepDir}`);
  const model = await loadTrainedModel(registry, spec, stepDir);
  await Deno.mkdir(o.masks ? `${o.out}/masks` : o.out, { recursive: true });
  const writer = spec.task === "segmentation"
    ? maskWriter(o)
    : detectionWriter(o, spec.classNames);
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
          await writeImage(
            `${o.out}/${file}`,
            await writer.draw(file, image, preds[i]),
          );
        }
      },
    );
  } finally {
    model.dispose();
  }
  console.error(
    `predict: ${data.size} images, ${await writer.finish()} -> ${o.out}`,
  );
  return data.size;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
