/**
 * Sharding of the unlabelled pool across machines (`--shard I/N`) and the
 * merge of the shards' pseudo-label files.
 *
 * Two deterministic slicings, both partitions (the union of shards 0..N-1 is
 * the pool, each image exactly once):
 * - `"range"` (default): shard I gets the contiguous index range
 *   `[floor(I·n/N), floor((I+1)·n/N))`; sizes differ by at most one. Needs
 *   every machine to see the pool in the same order (same listing).
 * - `"hash"`: image `id` goes to shard `fnv1a(String(id)) mod N`; independent
 *   of pool order and stable when the pool grows, sizes balanced only on
 *   average.
 */
import {
  canonicalCategories,
  cocoToRecords,
  PSEUDO_DESCRIPTION,
  type PseudoImageRecord,
  readCoco,
  writeCocoAtomic,
} from "./coco_file.ts";

/** Shard `index` of `count` (0-based). `{0, 1}` is the whole pool. */
export interface Shard {
  /** This shard, `0 .. count-1`. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** The whole pool as one shard. */
export const NO_SHARD: Shard = { index: 0, count: 1 };

/** Parses `"I/N"` (0 ≤ I < N); errors quote the text. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new Error(
      `--shard expects I/N with 0 <= I < N (e.g. 3/16), got "${text}"`,
    );
  }
  return { index, count };
}

/** `"I/N"`. */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** File-name tag, e.g. `shard-00003-of-00016`; empty for the whole pool. */
export function shardTag(shard: Shard): string {
  if (shard.count === 1) return "";
  const pad = (n: number) => String(n).padStart(5, "0");
  return `shard-${pad(shard.index)}-of-${pad(shard.count)}`;
}

/** Contiguous `[start, end)` index range of `shard` in a pool of `size`. */
export function shardRange(size: number, shard: Shard): [number, number] {
  return [
    Math.floor(shard.index * size / shard.count),
    Math.floor((shard.index + 1) * size / shard.count),
  ];
}

/** Shard of an image id by 32-bit FNV-1a of `String(id)`. */
export function idShard(id: number | string, count: number): number {
  const s = String(id);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return (h >>> 0) % count;
}

/** How a pool is sliced. */
export type ShardMode = "range" | "hash";

/**
 * Pool indices (ascending) that belong to `shard`. `"hash"` mode needs
 * `idOf(index)`, the image id of a pool index.
 */
export function shardIndices(
  size: number,
  shard: Shard,
  mode: ShardMode = "range",
  idOf?: (index: number) => number | string,
): number[] {
  if (mode === "range") {
    const [start, end] = shardRange(size, shard);
    return Array.from({ length: end - start }, (_, i) => start + i);
  }
  if (!idOf) throw new Error(`shardIndices: "hash" mode needs idOf(index)`);
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    if (idShard(idOf(i), shard.count) === shard.index) out.push(i);
  }
  return out;
}

const SHARD_FILE = /\.shard-\d+-of-\d+\.json$/;

/**
 * Lists `inputs`, expanding a folder to its shard files
 * (`*.shard-IIIII-of-NNNNN.json`, sorted); other JSON in the folder
 * (metrics, reports) is left alone. Errors name an input that does not
 * exist or a folder without shard files.
 */
export async function expandInputs(
  inputs: readonly string[],
  exclude: string,
): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await Deno.stat(input).catch(() => null);
    if (!info) throw new Error(`${input}: no such file or folder`);
    if (!info.isDirectory) {
      files.push(input);
      continue;
    }
    const names: string[] = [];
    for await (const e of Deno.readDir(input)) {
      if (e.isFile && SHARD_FILE.test(e.name)) names.push(e.name);
    }
    if (names.length === 0) {
      throw new Error(`${input}: no shard files (*.shard-*-of-*.json)`);
    }
    for (const n of names.sort()) {
      const path = `${input.replace(/\/+$/, "")}/${n}`;
      if (path !== exclude) files.push(path);
    }
  }
  return files;
}

/** What a merge wrote. */
export interface MergeSummary {
  /** Files merged. */
  files: number;
  /** Images in the merged file. */
  images: number;
  /** Boxes in the merged file. */
  boxes: number;
}

/**
 * Joins shard files into one canonical COCO file at `out` (atomic). Checks:
 * identical categories, no image in two files, and, when the inputs are
 * shard files (`info.shard = "I/N"`), that shards 0..N-1 are each present
 * exactly once (unless `allowPartial`). The result equals the file an
 * unsharded run writes.
 */
export async function mergeShardFiles(
  inputs: readonly string[],
  out: string,
  allowPartial = false,
): Promise<MergeSummary> {
  const files = await expandInputs(inputs, out);
  if (files.length === 0) throw new Error("merge: no input files");
  const owner = new Map<number | string, string>();
  const records: PseudoImageRecord[] = [];
  const shards = new Map<string, string>();
  let categoriesJson: string | undefined;
  let categoriesFrom = "";
  let shardCount: number | undefined;
  for (const path of files) {
    const coco = await readCoco(path);
    const cats = JSON.stringify(canonicalCategories(coco.categories));
    if (categoriesJson === undefined) {
      [categoriesJson, categoriesFrom] = [cats, path];
    } else if (cats !== categoriesJson) {
      throw new Error(`${path}: categories differ from ${categoriesFrom}`);
    }
    const tag = coco.info?.shard;
    if (tag !== undefined) {
      const shard = parseShard(tag);
      if (shardCount !== undefined && shard.count !== shardCount) {
        throw new Error(
          `${path}: shard ${tag} but other files have N=${shardCount}`,
        );
      }
      shardCount = shard.count;
      if (shards.has(tag)) {
        throw new Error(
          `${path}: shard ${tag} already given by ${shards.get(tag)}`,
        );
      }
      shards.set(tag, path);
    }
    for (const record of cocoToRecords(coco, path)) {
      const prev = owner.get(record.image.id);
      if (prev !== undefined) {
        throw new Error(
          `${path}: image id ${record.image.id} is also in ${prev}`,
        );
      }
      owner.set(record.image.id, path);
      records.push(record);
    }
  }
  if (shardCount !== undefined && !allowPartial) {
    const missing = Array.from({ length: shardCount }, (_, i) => i).filter(
      (i) => !shards.has(`${i}/${shardCount}`),
    );
    if (missing.length) {
      throw new Error(
        `merge: missing shard(s) ${
          missing.join(", ")
        } of ${shardCount} (use --allow-partial to merge anyway)`,
      );
    }
  }
  const { images, boxes } = await writeCocoAtomic(
    out,
    { description: PSEUDO_DESCRIPTION },
    JSON.parse(categoriesJson!),
    records,
  );
  return { files: files.length, images, boxes };
}
