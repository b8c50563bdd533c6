/**
 * The COCO instances format (ground truth) and the COCO results format
 * (detections), with validation that turns bad input into one-line errors
 * naming the file and the offending entry instead of a crash later on.
 */
import { readJson } from "../core/fs.ts";

/** One image entry of a COCO instances file. */
export interface CocoImage {
  /** Image id, referenced by annotations and results. */
  id: number;
  /** File name relative to the image folder. */
  file_name: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** One object annotation of a COCO instances file. */
export interface CocoAnnotation {
  /** Annotation id. */
  id: number;
  /** Image the object is in. */
  image_id: number;
  /** COCO category id (not contiguous). */
  category_id: number;
  /** `[x, y, width, height]` in pixels. */
  bbox: [number, number, number, number];
  /** Object area in pixels (segment area in real COCO); drives the area ranges. */
  area: number;
  /** 1 for crowd regions (matched but never a miss or false positive). */
  iscrowd?: number;
}

/** One category of a COCO instances file. */
export interface CocoCategory {
  /** Category id. */
  id: number;
  /** Human-readable name. */
  name: string;
  /** Optional parent name. */
  supercategory?: string;
}

/** A COCO instances file (the parts detection uses). */
export interface CocoDataset {
  /** Images. */
  images: CocoImage[];
  /** Object annotations. */
  annotations: CocoAnnotation[];
  /** Categories. */
  categories: CocoCategory[];
}

/** One detection in the COCO results format. */
export interface CocoResult {
  /** Image id of the ground truth it is evaluated against. */
  image_id: number;
  /** COCO category id. */
  category_id: number;
  /** `[x, y, width, height]` in pixels. */
  bbox: [number, number, number, number];
  /** Confidence. */
  score: number;
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function isBox(v: unknown): v is [number, number, number, number] {
  return Array.isArray(v) && v.length === 4 && v.every(isNum);
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

/**
 * Checks that `json` is a COCO instances object (images, annotations,
 * categories with the fields detection needs) and returns it typed. A
 * missing `area` is filled with the box area; a missing `iscrowd` means 0.
 */
export function parseCocoDataset(
  json: unknown,
  file = "<ground truth>",
): CocoDataset {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(
      file,
      "expected a COCO instances object with images, annotations, categories",
    );
  }
  const o = json as Record<string, unknown>;
  for (const key of ["images", "annotations", "categories"]) {
    if (!Array.isArray(o[key])) fail(file, `"${key}" must be an array`);
  }
  const images = o.images as unknown[];
  images.forEach((im, n) => {
    const r = im as Record<string, unknown>;
    if (typeof r !== "object" || r === null || !isNum(r.id)) {
      fail(file, `images[${n}] needs a numeric "id"`);
    }
  });
  const categories = o.categories as unknown[];
  categories.forEach((c, n) => {
    const r = c as Record<string, unknown>;
    if (typeof r !== "object" || r === null || !isNum(r.id)) {
      fail(file, `categories[${n}] needs a numeric "id"`);
    }
    if (r.name === undefined) r.name = String(r.id);
  });
  const annotations = o.annotations as unknown[];
  annotations.forEach((a, n) => {
    const r = a as Record<string, unknown>;
    if (typeof r !== "object" || r === null) {
      fail(file, `annotations[${n}] is not an object`);
    }
    for (const key of ["id", "image_id", "category_id"]) {
      if (!isNum(r[key])) {
        fail(file, `annotations[${n}] needs a numeric "${key}"`);
      }
    }
    if (!isBox(r.bbox)) {
      fail(file, `annotations[${n}] (id ${r.id}) needs "bbox": [x, y, w, h]`);
    }
    if (r.area === undefined) r.area = r.bbox[2] * r.bbox[3];
    if (!isNum(r.area)) {
      fail(file, `annotations[${n}] (id ${r.id}) has a non-numeric "area"`);
    }
    if (r.iscrowd === undefined) r.iscrowd = 0;
  });
  return json as CocoDataset;
}

/** Checks that `json` is an array of COCO bbox results and returns it typed. */
export function parseCocoResults(
  json: unknown,
  file = "<results>",
): CocoResult[] {
  if (!Array.isArray(json)) fail(file, "expected a JSON array of detections");
  json.forEach((d, n) => {
    const r = d as Record<string, unknown>;
    if (typeof r !== "object" || r === null) {
      fail(file, `results[${n}] is not an object`);
    }
    if (!isNum(r.image_id)) {
      fail(file, `results[${n}] needs a numeric "image_id"`);
    }
    if (!isNum(r.category_id)) {
      fail(file, `results[${n}] needs a numeric "category_id"`);
    }
    if (!isBox(r.bbox)) fail(file, `results[${n}] needs "bbox": [x, y, w, h]`);
    if (!isNum(r.score)) {
      fail(file, `results[${n}] needs a finite numeric "score"`);
    }
  });
  return json as CocoResult[];
}

/** Reads a COCO instances file. */
export async function readCocoDataset(path: string): Promise<CocoDataset> {
  return parseCocoDataset(await readJson<unknown>(path), path);
}

/** Reads a COCO results file. */
export async function readCocoResults(path: string): Promise<CocoResult[]> {
  return parseCocoResults(await readJson<unknown>(path), path);
}
