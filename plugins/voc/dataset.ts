/**
 * Segmentation data in the PASCAL VOC 2012 layout: `JPEGImages/<id>.jpg`,
 * `SegmentationClass/<id>.png` (palette or grey class indices, 255 =
 * ignore) and `ImageSets/Segmentation/<split>.txt` listing ids. Every mask
 * is checked when a split is opened: an unreadable PNG, a mask of another
 * size than its image or a class index out of range is a one-line error
 * naming the file (`onError: "fail"`), or is counted and left out
 * (`"skip"`). Samples are letterboxed to the input size; the mask follows
 * by nearest neighbour, padded with 255.
 */
import { join } from "node:path";
import { decodeImage } from "../../image/codec.ts";
import { readImageSize } from "../../image/header.ts";
import { decodeMaskPng } from "../../image/mask_png.ts";
import { letterbox } from "../../image/resize.ts";
import {
  type Dataset,
  IGNORE_LABEL,
  type RawImage,
  type Sample,
} from "../../core/types.ts";

/** The 21 PASCAL VOC classes, index = label. */
export const VOC_CLASSES: readonly string[] = [
  "background",
  "aeroplane",
  "bicycle",
  "bird",
  "boat",
  "bottle",
  "bus",
  "car",
  "cat",
  "chair",
  "cow",
  "diningtable",
  "dog",
  "horse",
  "motorbike",
  "person",
  "pottedplant",
  "sheep",
  "sofa",
  "train",
  "tvmonitor",
];

/** One image and its mask file (no mask for unlabelled images). */
export interface SegEntry {
  /** Sample id (the file stem). */
  id: string;
  /** Image file. */
  image: string;
  /** Mask PNG, if labelled. */
  mask?: string;
}

/** Bad-data counts of a split opened with `onError: "skip"`. */
export interface SkipReport {
  /** Files left out. */
  skipped: number;
  /** First message per file left out (at most 20 kept). */
  messages: string[];
}

/** Options of `SegmentationDataset`. */
export interface SegDatasetOptions {
  /** Square model input; 0 keeps the source size. */
  inputSize: number;
  /** `fail` or `skip`. */
  onError: string;
  /** Class names (their count bounds the mask indices). */
  classNames: readonly string[];
}

/** Nearest-neighbour letterbox of a mask to match `letterbox` of its image. */
export function letterboxMask(
  mask: Uint8Array,
  width: number,
  height: number,
  size: number,
): Uint8Array {
  const scale = Math.min(size / width, size / height);
  const cw = Math.max(1, Math.min(size, Math.round(width * scale)));
  const ch = Math.max(1, Math.min(size, Math.round(height * scale)));
  const out = new Uint8Array(size * size).fill(IGNORE_LABEL);
  for (let y = 0; y < ch; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / ch));
    for (let x = 0; x < cw; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / cw));
      out[y * size + x] = mask[sy * width + sx];
    }
  }
  return out;
}

/** Reads and checks a mask against its image; errors name the mask file. */
export async function readCheckedMask(
  entry: SegEntry,
  classes: number,
): Promise<Uint8Array> {
  const path = entry.mask!;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read mask: ${(e as Error).message}`);
  }
  const m = decodeMaskPng(bytes, path);
  let size;
  try {
    size = readImageSize(await Deno.readFile(entry.image));
  } catch (e) {
    throw new Error(
      `${entry.image}: cannot read image: ${(e as Error).message}`,
    );
  }
  if (!size) throw new Error(`${entry.image}: not a JPEG or PNG image`);
  if (size.width !== m.width || size.height !== m.height) {
    throw new Error(
      `${path}: mask is ${m.width}x${m.height}, image ${entry.image} is ${size.width}x${size.height}`,
    );
  }
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i];
    if (v >= classes && v !== IGNORE_LABEL) {
      throw new Error(
        `${path}: class index ${v} out of range (${classes} classes, 255 = ignore) at pixel ${
          i % m.width
        },${Math.floor(i / m.width)}`,
      );
    }
  }
  return m.data;
}

/** A VOC-layout split (or a folder of unlabelled images) as a `Dataset`. */
export class SegmentationDataset implements Dataset {
  /** Images (and masks) in the split, bad ones removed under `skip`. */
  readonly entries: readonly SegEntry[];
  /** Class names. */
  readonly classNames: readonly string[];
  /** What `skip` left out. */
  readonly report: SkipReport;
  readonly #o: SegDatasetOptions;

  private constructor(
    entries: SegEntry[],
    o: SegDatasetOptions,
    r: SkipReport,
  ) {
    this.entries = entries;
    this.classNames = o.classNames;
    this.report = r;
    this.#o = o;
  }

  /** Checks every mask (see the module doc) and builds the dataset. */
  static async open(
    entries: readonly SegEntry[],
    o: SegDatasetOptions,
  ): Promise<SegmentationDataset> {
    if (o.onError !== "fail" && o.onError !== "skip") {
      throw new Error(
        `data.onError must be "fail" or "skip", got "${o.onError}"`,
      );
    }
    const kept: SegEntry[] = [];
    const report: SkipReport = { skipped: 0, messages: [] };
    for (const e of entries) {
      if (e.mask) {
        try {
          await readCheckedMask(e, o.classNames.length);
        } catch (err) {
          const msg = (err as Error).message.split("\n")[0];
          if (o.onError === "fail") throw new Error(msg);
          report.skipped++;
          if (report.messages.length < 20) report.messages.push(msg);
          continue;
        }
      }
      kept.push(e);
    }
    return new SegmentationDataset(kept, o, report);
  }

  /** Number of samples. */
  get size(): number {
    return this.entries.length;
  }

  /** Id of sample `index`. */
  idOf(index: number): string {
    return this.entries[index].id;
  }

  /** The checked mask of sample `id` at source resolution. */
  async sourceMask(id: string | number): Promise<Uint8Array> {
    const e = this.entries.find((x) => x.id === id);
    if (!e?.mask) throw new Error(`${id}: no labelled image with this id`);
    return await readCheckedMask(e, this.classNames.length);
  }

  /** Image (and mask) of `index`, letterboxed to the input size. */
  async get(index: number): Promise<Sample> {
    const e = this.entries[index];
    if (!e) {
      throw new Error(`sample index ${index} out of range 0..${this.size - 1}`);
    }
    let source: RawImage;
    try {
      source = decodeImage(await Deno.readFile(e.image), e.image);
    } catch (err) {
      const msg = (err as Error).message.split("\n")[0];
      throw new Error(msg.startsWith(e.image) ? msg : `${e.image}: ${msg}`);
    }
    const mask = e.mask
      ? await readCheckedMask(e, this.classNames.length)
      : undefined;
    return toSample(e.id, e.image, source, mask, this.#o.inputSize);
  }
}

/** A letterboxed sample from a source image and optional source-size mask. */
export function toSample(
  id: string,
  file: string,
  source: RawImage,
  mask: Uint8Array | undefined,
  inputSize: number,
): Sample {
  const meta = {
    sourceWidth: source.width,
    sourceHeight: source.height,
    scale: 1,
    file,
  };
  if (inputSize <= 0) {
    return { id, image: source, ...(mask ? { mask } : {}), meta };
  }
  const { image, scale } = letterbox(source, inputSize, inputSize);
  return {
    id,
    image,
    ...(mask
      ? { mask: letterboxMask(mask, source.width, source.height, inputSize) }
      : {}),
    meta: { ...meta, scale },
  };
}

/** Entries of a VOC split list (`ImageSets/Segmentation/<split>.txt`). */
export async function vocEntries(
  root: string,
  split: string,
): Promise<SegEntry[]> {
  const list = join(root, "ImageSets", "Segmentation", `${split}.txt`);
  let text: string;
  try {
    text = await Deno.readTextFile(list);
  } catch (e) {
    throw new Error(`${list}: cannot read split list: ${(e as Error).message}`);
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l).map((
    id,
  ) => ({
    id,
    image: join(root, "JPEGImages", `${id}.jpg`),
    mask: join(root, "SegmentationClass", `${id}.png`),
  }));
}

/** Unlabelled entries: every JPEG / PNG in `dir`, sorted by name. */
export async function folderEntries(dir: string): Promise<SegEntry[]> {
  const out: SegEntry[] = [];
  try {
    for await (const f of Deno.readDir(dir)) {
      if (f.isFile && /\.(jpe?g|png)$/i.test(f.name)) {
        out.push({
          id: f.name.replace(/\.[^.]+$/, ""),
          image: join(dir, f.name),
        });
      }
    }
  } catch (e) {
    throw new Error(`${dir}: cannot read folder: ${(e as Error).message}`);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
