/**
 * COCO instances files of pseudo-labels: types, a canonical streaming writer
 * (atomic: temp file + fsync + rename) and a validating reader.
 *
 * Canonical form, so that independent runs, shards and merges of the same
 * labels are byte-identical: categories sorted by id; images sorted by id
 * (numbers ascending, then strings); annotations grouped by image in that
 * order, each image's in the order they were recorded, with ids 1..N
 * assigned at write time; one image / annotation per line.
 */

import type { CocoCategory } from "../eval/coco_format.ts";

export type { CocoCategory } from "../eval/coco_format.ts";

/** A COCO image entry. */
export interface PseudoImageEntry {
  /** Image id (a number in COCO proper; strings are allowed here). */
  id: number | string;
  /** File name relative to the image folder. */
  file_name: string;
  /** Source width in pixels. */
  width: number;
  /** Source height in pixels. */
  height: number;
}

/** A pseudo box before ids are assigned: COCO `bbox` is `[x, y, w, h]`. */
export interface PseudoBox {
  /** COCO category id. */
  category_id: number;
  /** `[x, y, width, height]` in source pixels. */
  bbox: [number, number, number, number];
  /** Box area (`width * height`). */
  area: number;
  /** Teacher confidence. */
  score: number;
  /** 1 for an uncertain box kept as an ignore region (absent = 0). */
  iscrowd?: 0 | 1;
}

/** A COCO annotation carrying the teacher's score. */
export interface PseudoAnnotation extends PseudoBox {
  /** Annotation id, 1..N in canonical order. */
  id: number;
  /** Image the box belongs to. */
  image_id: number | string;
  /** 1 for an uncertain box kept as an ignore region. */
  iscrowd: 0 | 1;
}

/** One image with its pseudo boxes: the unit of the journal and of shards. */
export interface PseudoImageRecord {
  /** The image. */
  image: PseudoImageEntry;
  /** Its boxes (possibly none). */
  annotations: PseudoBox[];
}

/** Provenance written under `info`. */
export interface PseudoInfo {
  /** Fixed description. */
  description: string;
  /** `"I/N"` for a shard's file; absent for a whole pool or a merge. */
  shard?: string;
}

/** A parsed COCO instances file. */
export interface CocoInstances {
  /** Provenance. */
  info?: PseudoInfo;
  /** Images. */
  images: PseudoImageEntry[];
  /** Annotations. */
  annotations: PseudoAnnotation[];
  /** Categories. */
  categories: CocoCategory[];
}

/** Description written in every pseudo-label file. */
export const PSEUDO_DESCRIPTION = "selftrain pseudo-labels";

/** Orders image ids: numbers ascending, then strings by code unit. */
export function compareImageIds(
  a: number | string,
  b: number | string,
): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Categories sorted by id, with a fixed key order. */
export function canonicalCategories(
  categories: readonly CocoCategory[],
): CocoCategory[] {
  return [...categories].sort((a, b) => a.id - b.id).map((c) => {
    const out: CocoCategory = { id: c.id, name: c.name };
    if (c.supercategory !== undefined) out.supercategory = c.supercategory;
    return out;
  });
}

/**
 * Writes records as a canonical COCO instances file at `path`, atomically
 * and streamed (pools of millions of images do not go through one string).
 * Returns the number of images and boxes written.
 */
export async function writeCocoAtomic(
  path: string,
  info: PseudoInfo,
  categories: readonly CocoCategory[],
  records: Iterable<PseudoImageRecord>,
): Promise<{ images: number; boxes: number }> {
  const sorted = [...records].sort((a, b) =>
    compareImageIds(a.image.id, b.image.id)
  );
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, {
    write: true,
    create: true,
    truncate: true,
  });
  const encoder = new TextEncoder();
  let buffer = "";
  const flush = async (force: boolean) => {
    if (!force && buffer.length < 1 << 20) return;
    const bytes = encoder.encode(buffer);
    buffer = "";
    for (let off = 0; off < bytes.length;) {
      off += await file.write(bytes.subarray(off));
    }
  };
  let boxes = 0;
  try {
    buffer += `{"info":${JSON.stringify(info)},\n"images":[`;
    for (let i = 0; i < sorted.length; i++) {
      const { id, file_name, width, height } = sorted[i].image;
      buffer += `${i ? "," : ""}\n${
        JSON.stringify({ id, file_name, width, height })
      }`;
      await flush(false);
    }
    buffer += `\n],\n"annotations":[`;
    for (const { image, annotations } of sorted) {
      for (const a of annotations) {
        boxes++;
        buffer += `${boxes > 1 ? "," : ""}\n${
          JSON.stringify({
            id: boxes,
            image_id: image.id,
            category_id: a.category_id,
            bbox: a.bbox,
            area: a.area,
            iscrowd: a.iscrowd ?? 0,
            score: a.score,
          })
        }`;
        await flush(false);
      }
    }
    buffer += `\n],\n"categories":${
      JSON.stringify(canonicalCategories(categories))
    }}\n`;
    await flush(true);
    await file.sync();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  await Deno.rename(tmp, path);
  return { images: sorted.length, boxes };
}

/** Reads and checks a COCO instances file; errors name the file. */
export async function readCoco(path: string): Promise<CocoInstances> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot read COCO file: ${(e as Error).message}`);
  }
  const coco = value as CocoInstances;
  for (const key of ["images", "annotations", "categories"] as const) {
    if (!Array.isArray(coco?.[key])) {
      throw new Error(`${path}: not a COCO instances file (no "${key}" array)`);
    }
  }
  return coco;
}

/**
 * Groups a COCO file's annotations under their images. Errors (naming
 * `path`) on duplicate image ids and annotations of unknown images.
 */
export function cocoToRecords(
  coco: CocoInstances,
  path: string,
): PseudoImageRecord[] {
  const byId = new Map<number | string, PseudoImageRecord>();
  for (const image of coco.images) {
    if (byId.has(image.id)) {
      throw new Error(`${path}: image id ${image.id} appears twice`);
    }
    byId.set(image.id, { image, annotations: [] });
  }
  for (const a of coco.annotations) {
    const record = byId.get(a.image_id);
    if (!record) {
      throw new Error(
        `${path}: annotation ${a.id} refers to unknown image ${a.image_id}`,
      );
    }
    record.annotations.push({
      category_id: a.category_id,
      bbox: a.bbox,
      area: a.area,
      score: a.score,
    });
  }
  return [...byId.values()];
}
