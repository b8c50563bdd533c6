/**
 * Reading and checking a COCO instances file plus its image folder, up front,
 * before any training step: every image file is opened and its header read,
 * every annotation is checked against its image and the category list. Bad
 * data is either a one-line error naming the file (`onError: "fail"`) or a
 * counted, reported skip of the image concerned (`onError: "skip"`) — a
 * partially labelled image is worse than none, since its unlabelled objects
 * would be trained as background.
 */
import { readJson } from "../../core/fs.ts";
import { readImageSize } from "../../image/header.ts";
import { CategoryMap } from "./categories.ts";

/** What to do with bad data. */
export type OnError = "fail" | "skip";

/** One usable image with its boxes in source pixels. */
export interface CocoEntry {
  /** COCO image id (or file name for folder-only splits). */
  id: number | string;
  /** Path of the image file. */
  path: string;
  /** Source width. */
  width: number;
  /** Source height. */
  height: number;
  /** `[x1, y1, x2, y2]` per box, source pixels, clipped to the image. */
  boxes: Float32Array;
  /** Contiguous labels. */
  labels: Int32Array;
  /** 1 for crowd boxes. */
  crowd: Uint8Array;
}

/** Counts of what a load skipped, by reason. */
export class LoadReport {
  /** Images skipped. */
  skippedImages = 0;
  /** Problems seen, by reason. */
  readonly byReason: Map<string, number> = new Map();
  /** The first few full messages, for the log. */
  readonly examples: string[] = [];

  /** Records one problem. */
  add(reason: string, message: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    if (this.examples.length < 5) this.examples.push(message);
  }

  /** One line such as `skipped 2 of 40 images (missing image file: 2)`. */
  summary(total: number): string {
    const reasons = [...this.byReason].map(([r, n]) => `${r}: ${n}`).join(", ");
    return `skipped ${this.skippedImages} of ${total} images (${reasons})`;
  }
}

/** An indexed split. */
export interface CocoIndex {
  /** Usable images, ascending id. */
  entries: CocoEntry[];
  /** Category mapping used for labels. */
  categories: CategoryMap;
  /** What was skipped. */
  report: LoadReport;
}

/** Options of `indexCocoSplit`. */
export interface IndexOptions {
  /** Bad data policy (default "fail"). */
  onError?: OnError;
  /** Mapping to use (e.g. the train split's); default: from this file. */
  categories?: CategoryMap;
  /** Ignore annotations (unlabelled split): only images are checked. */
  imagesOnly?: boolean;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;
// Boxes may overhang the border by this much (float rounding in tools) and are clipped.
const BORDER_TOLERANCE = 1;

class Problem extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** Reads enough of an image file to get its size; throws `Problem` otherwise. */
async function probeImage(
  path: string,
): Promise<{ width: number; height: number }> {
  let bytes: Uint8Array;
  try {
    const f = await Deno.open(path);
    try {
      const buf = new Uint8Array(65536);
      const n = await f.read(buf) ?? 0;
      bytes = buf.subarray(0, n);
    } finally {
      f.close();
    }
  } catch {
    throw new Problem("missing image file", `${path}: missing image file`);
  }
  const size = readImageSize(bytes) ?? readImageSize(await Deno.readFile(path));
  if (!size) {
    throw new Problem(
      "unreadable image",
      `${path}: unreadable image (not a valid JPEG or PNG)`,
    );
  }
  return size;
}

/** Probes many files with bounded concurrency, keeping order. */
async function probeAll(
  paths: string[],
): Promise<({ width: number; height: number } | Problem)[]> {
  const out: ({ width: number; height: number } | Problem)[] = new Array(
    paths.length,
  );
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      out[i] = await probeImage(paths[i]).catch((e) => {
        if (e instanceof Problem) return e;
        throw e;
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Lists the JPEG/PNG files of a folder (sorted) as an images-only split. */
export async function indexImageFolder(
  dir: string,
  categories: CategoryMap,
  onError: OnError = "fail",
): Promise<CocoIndex> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && IMAGE_EXT.test(e.name)) names.push(e.name);
    }
  } catch (e) {
    throw new Error(
      `${dir}: cannot list image folder: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
  names.sort();
  const report = new LoadReport();
  const sizes = await probeAll(names.map((n) => `${dir}/${n}`));
  const entries: CocoEntry[] = [];
  sizes.forEach((s, i) => {
    if (s instanceof Problem) {
      if (onError === "fail") throw new Error(s.message);
      report.add(s.reason, s.message);
      report.skippedImages++;
      return;
    }
    entries.push({
      id: names[i],
      path: `${dir}/${names[i]}`,
      ...s,
      ...emptyTargets(),
    });
  });
  if (report.skippedImages) {
    console.warn(`coco: ${dir}: ${report.summary(names.length)}`);
  }
  return { entries, categories, report };
}

function emptyTargets(): Pick<CocoEntry, "boxes" | "labels" | "crowd"> {
  return {
    boxes: new Float32Array(0),
    labels: new Int32Array(0),
    crowd: new Uint8Array(0),
  };
}

/**
 * Indexes a COCO instances file whose `file_name`s are relative to
 * `imagesDir`. Structural problems (malformed JSON, missing arrays) always
 * fail; per-image problems follow `onError`.
 */
export async function indexCocoSplit(
  annotationsFile: string,
  imagesDir: string,
  opts: IndexOptions = {},
): Promise<CocoIndex> {
  const onError = opts.onError ?? "fail";
  const file = annotationsFile;
  const json = await readJson<Record<string, unknown>>(file);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${file}: expected a COCO instances object`);
  }
  if (!Array.isArray(json.images)) {
    throw new Error(`${file}: "images" must be an array`);
  }
  const needAnns = !opts.imagesOnly;
  if (needAnns && !Array.isArray(json.annotations)) {
    throw new Error(`${file}: "annotations" must be an array`);
  }
  if (!opts.categories && !Array.isArray(json.categories)) {
    throw new Error(`${file}: "categories" must be an array`);
  }
  if (!opts.categories) {
    (json.categories as unknown[]).forEach((c, n) => {
      const r = c as Record<string, unknown>;
      if (typeof r !== "object" || r === null || !isNum(r.id)) {
        throw new Error(`${file}: categories[${n}] needs a numeric "id"`);
      }
      if (typeof r.name !== "string") r.name = String(r.id);
    });
  }
  const categories = opts.categories ??
    new CategoryMap(json.categories as { id: number; name: string }[], file);
  const report = new LoadReport();
  const bad = new Map<number, Problem>();
  const problem = (
    imageId: number | undefined,
    reason: string,
    message: string,
  ) => {
    if (onError === "fail") throw new Error(message);
    report.add(reason, message);
    if (imageId !== undefined && !bad.has(imageId)) {
      bad.set(imageId, new Problem(reason, message));
    }
  };

  const images = new Map<
    number,
    { path: string; width: number; height: number }
  >();
  const raw = json.images as Record<string, unknown>[];
  raw.forEach((im, n) => {
    if (
      typeof im !== "object" || im === null || !isNum(im.id) ||
      typeof im.file_name !== "string"
    ) {
      throw new Error(
        `${file}: images[${n}] needs a numeric "id" and a string "file_name"`,
      );
    }
    if (images.has(im.id)) {
      problem(
        im.id,
        "duplicate image id",
        `${file}: duplicate image id ${im.id}`,
      );
    }
    images.set(im.id, {
      path: `${imagesDir}/${im.file_name}`,
      width: Number(im.width),
      height: Number(im.height),
    });
  });
  const ids = [...images.keys()].sort((a, b) => a - b);
  const sizes = await probeAll(ids.map((id) => images.get(id)!.path));
  ids.forEach((id, n) => {
    const s = sizes[n];
    const im = images.get(id)!;
    if (s instanceof Problem) {
      return problem(id, s.reason, `${s.message} (image id ${id} in ${file})`);
    }
    if (
      (isNum(im.width) && im.width !== s.width) ||
      (isNum(im.height) && im.height !== s.height)
    ) {
      problem(
        id,
        "image size mismatch",
        `${im.path}: image is ${s.width}x${s.height} but ${file} says ${im.width}x${im.height}`,
      );
    }
    im.width = s.width;
    im.height = s.height;
  });

  const boxes = new Map<
    number,
    { box: number[]; label: number; crowd: number }[]
  >();
  const anns = needAnns ? json.annotations as Record<string, unknown>[] : [];
  anns.forEach((a, n) => {
    if (typeof a !== "object" || a === null) {
      throw new Error(`${file}: annotations[${n}] is not an object`);
    }
    const where = `${file}: annotation ${a.id ?? `#${n}`}`;
    const imageId = isNum(a.image_id) ? a.image_id : undefined;
    const im = imageId === undefined ? undefined : images.get(imageId);
    if (!im) {
      return problem(
        undefined,
        "unknown image id",
        `${where}: unknown image id ${a.image_id}`,
      );
    }
    const label = isNum(a.category_id)
      ? categories.toLabel(a.category_id)
      : undefined;
    if (label === undefined) {
      return problem(
        imageId,
        "unknown category id",
        `${where}: unknown category id ${a.category_id}`,
      );
    }
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) {
      return problem(
        imageId,
        "malformed box",
        `${where}: "bbox" must be [x, y, w, h] numbers`,
      );
    }
    const [x, y, w, h] = b as number[];
    if (w <= 0 || h <= 0) {
      return problem(
        imageId,
        "zero-area box",
        `${where}: zero-area box [${b.join(", ")}]`,
      );
    }
    const t = BORDER_TOLERANCE;
    if (x < -t || y < -t || x + w > im.width + t || y + h > im.height + t) {
      return problem(
        imageId,
        "box outside the image",
        `${where}: box [${
          b.join(", ")
        }] outside the ${im.width}x${im.height} image`,
      );
    }
    const box = [
      Math.max(0, x),
      Math.max(0, y),
      Math.min(im.width, x + w),
      Math.min(im.height, y + h),
    ];
    const list = boxes.get(imageId!) ?? [];
    list.push({ box, label, crowd: a.iscrowd ? 1 : 0 });
    boxes.set(imageId!, list);
  });

  const entries: CocoEntry[] = [];
  for (const id of ids) {
    if (bad.has(id)) continue;
    const im = images.get(id)!;
    const list = boxes.get(id) ?? [];
    entries.push({
      id,
      path: im.path,
      width: im.width,
      height: im.height,
      boxes: Float32Array.from(list.flatMap((o) => o.box)),
      labels: Int32Array.from(list, (o) => o.label),
      crowd: Uint8Array.from(list, (o) => o.crowd),
    });
  }
  report.skippedImages = bad.size;
  if (report.byReason.size) {
    console.warn(`coco: ${file}: ${report.summary(ids.length)}`);
  }
  return { entries, categories, report };
}
