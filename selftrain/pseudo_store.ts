/**
 * Crash-safe pseudo-label store for detection. Per-image records go to an
 * append-only JSONL journal (`<dir>/pseudo_labels[.shard-…].jsonl`), one line
 * per image written with a single write; `finalize()` turns the journal into
 * a canonical COCO instances file (`….json`, see `coco_file.ts`) atomically.
 *
 * Guarantees under `kill -9` at any moment:
 * - the COCO file is either absent or complete and parseable (temp + rename);
 * - on `open`, complete journal lines are kept and a torn last line (no
 *   trailing newline) is dropped and truncated away, so that image is simply
 *   labelled again: nothing missing, nothing twice;
 * - the journal starts with a header (categories, shard) written atomically,
 *   and reopening with other categories or another shard is an error.
 *
 * `fsync` runs every `syncEvery` records and at `finalize`/`close`; a killed
 * process loses nothing already written (the page cache survives it), fsync
 * only matters for machine crashes.
 *
 * ```ts
 * const store = await PseudoLabelStore.open(dir, { categories, shard });
 * for (const i of shardIndices(pool.size, shard)) {
 *   const sample = await pool.get(i);
 *   if (store.has(sample.id)) continue;       // resumed: already labelled
 *   const [pred] = await teacher(sample);     // detections in source pixels
 *   const labels = labeler.label(pred, sample); // PseudoLabels, source pixels
 *   if (labels) await store.addPseudoLabels(labels);
 * }
 * const cocoPath = await store.finalize();
 * ```
 */
import type { PseudoLabels } from "../core/contracts.ts";
import {
  canonicalCategories,
  type CocoCategory,
  PSEUDO_DESCRIPTION,
  type PseudoImageEntry,
  type PseudoImageRecord,
  type PseudoInfo,
  writeCocoAtomic,
} from "./coco_file.ts";
import { formatShard, NO_SHARD, type Shard, shardTag } from "./shard.ts";

/** Options of `PseudoLabelStore.open`. */
export interface PseudoStoreOptions {
  /** COCO categories; contiguous label `i` maps to `categories[i]`. */
  categories: readonly CocoCategory[];
  /** Slice of the pool this store labels (default: all of it). */
  shard?: Shard;
  /** fsync the journal every this many records (default 100). */
  syncEvery?: number;
}

/** Counts of a store, for reports. */
export interface PseudoStats {
  /** Images recorded (including those with no box). */
  images: number;
  /** Boxes recorded. */
  boxes: number;
  /** Box scores in ten bins `[0, .1), …, [.9, 1]`. */
  scoreHistogram: { edges: number[]; counts: number[] };
  /** Boxes per category id. */
  perCategory: Record<number, number>;
}

const HEADER_KEY = "selftrain_pseudo_journal";
const STEM = "pseudo_labels";

/** Journal + COCO file of pseudo-labels, resumable after a kill. */
export class PseudoLabelStore {
  /** The JSONL journal. */
  readonly journalPath: string;
  /** Where `finalize` writes the COCO file. */
  readonly cocoPath: string;
  readonly #categories: CocoCategory[];
  readonly #info: PseudoInfo;
  readonly #syncEvery: number;
  readonly #records = new Map<number | string, PseudoImageRecord>();
  #file: Deno.FsFile | null;
  #pending: Promise<void> = Promise.resolve();
  #unsynced = 0;
  #stale: boolean;

  private constructor(
    dir: string,
    shard: Shard,
    categories: CocoCategory[],
    syncEvery: number,
    file: Deno.FsFile,
  ) {
    const base = `${dir.replace(/\/+$/, "")}/${STEM}${
      shard.count > 1 ? "." + shardTag(shard) : ""
    }`;
    this.journalPath = `${base}.jsonl`;
    this.cocoPath = `${base}.json`;
    this.#categories = categories;
    this.#info = shard.count > 1
      ? { description: PSEUDO_DESCRIPTION, shard: formatShard(shard) }
      : { description: PSEUDO_DESCRIPTION };
    this.#syncEvery = syncEvery;
    this.#file = file;
    this.#stale = true;
  }

  /** COCO file path a store in `dir` for `shard` finalizes to. */
  static cocoPathFor(dir: string, shard: Shard = NO_SHARD): string {
    const tag = shard.count > 1 ? "." + shardTag(shard) : "";
    return `${dir.replace(/\/+$/, "")}/${STEM}${tag}.json`;
  }

  /**
   * Opens (creating `dir` and the journal if needed) and recovers the
   * journal: valid records are loaded, a torn last line is truncated away.
   */
  static async open(
    dir: string,
    options: PseudoStoreOptions,
  ): Promise<PseudoLabelStore> {
    const shard = options.shard ?? NO_SHARD;
    const categories = canonicalCategories(options.categories);
    await Deno.mkdir(dir, { recursive: true });
    const cocoPath = PseudoLabelStore.cocoPathFor(dir, shard);
    const journal = cocoPath.replace(/\.json$/, ".jsonl");
    const header = JSON.stringify({
      [HEADER_KEY]: 1,
      shard: formatShard(shard),
      categories,
    }) + "\n";
    const existing = await Deno.readFile(journal).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    });
    const records: PseudoImageRecord[] = [];
    if (existing === null) {
      const tmp = `${journal}.tmp-${Deno.pid}`;
      await Deno.writeTextFile(tmp, header);
      await Deno.rename(tmp, journal);
    } else {
      const valid = recoverJournal(journal, existing, header, records);
      if (valid < existing.length) await Deno.truncate(journal, valid);
    }
    const file = await Deno.open(journal, { append: true });
    const store = new PseudoLabelStore(
      dir,
      shard,
      categories,
      options.syncEvery ?? 100,
      file,
    );
    for (const r of records) store.#records.set(r.image.id, r);
    return store;
  }

  /** True when image `id` is already labelled. */
  has(id: number | string): boolean {
    return this.#records.has(id);
  }

  /** Number of images labelled. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Appends one image's record. Throws when the image is already labelled
   * (check `has` first). Calls are serialised; `has` sees the image at once.
   */
  add(record: PseudoImageRecord): Promise<void> {
    const file = this.#file;
    if (!file) throw new Error(`${this.journalPath}: store is closed`);
    const id = record.image.id;
    if (this.#records.has(id)) {
      throw new Error(`${this.journalPath}: image ${id} is already labelled`);
    }
    this.#records.set(id, record);
    const line = new TextEncoder().encode(JSON.stringify(record) + "\n");
    this.#pending = this.#pending.then(async () => {
      if (this.#stale) {
        // A COCO file from an earlier finalize no longer matches the journal.
        await Deno.remove(this.cocoPath).catch(() => {});
        this.#stale = false;
      }
      for (let off = 0; off < line.length;) {
        off += await file.write(line.subarray(off));
      }
      if (++this.#unsynced >= this.#syncEvery) {
        this.#unsynced = 0;
        await file.sync();
      }
    });
    return this.#pending;
  }

  /**
   * Records an image's pseudo-labels (source pixels, as labelers return
   * them). Boxes are stored as COCO `[x, y, w, h]` with `score`; ignore
   * regions with `iscrowd: 1`.
   */
  addPseudoLabels(labels: PseudoLabels, fileName?: string): Promise<void> {
    const annotations = Array.from(labels.classes, (label, i) => {
      const category = this.#categories[label];
      if (!category) {
        throw new Error(
          `${this.journalPath}: label ${label} has no category (${this.#categories.length} categories)`,
        );
      }
      const [x1, y1, x2, y2] = labels.boxes.subarray(4 * i, 4 * i + 4);
      const w = x2 - x1;
      const h = y2 - y1;
      return {
        category_id: category.id,
        bbox: [x1, y1, w, h] as [number, number, number, number],
        area: w * h,
        score: labels.scores[i],
        ...(labels.ignore[i] ? { iscrowd: 1 as const } : {}),
      };
    });
    const cocoImage: PseudoImageEntry = {
      id: labels.id,
      file_name: fileName ?? String(labels.id),
      width: labels.width,
      height: labels.height,
    };
    return this.add({ image: cocoImage, annotations });
  }

  /** Waits for pending writes and fsyncs the journal. */
  async sync(): Promise<void> {
    await this.#pending;
    this.#unsynced = 0;
    await this.#file?.sync();
  }

  /** Writes the COCO file atomically from every record; returns its path. */
  async finalize(): Promise<string> {
    await this.sync();
    await writeCocoAtomic(
      this.cocoPath,
      this.#info,
      this.#categories,
      this.#records.values(),
    );
    this.#stale = true;
    return this.cocoPath;
  }

  /** Counts and the score histogram of the recorded boxes. */
  stats(): PseudoStats {
    const counts = new Array(10).fill(0);
    const perCategory: Record<number, number> = {};
    let boxes = 0;
    for (const { annotations } of this.#records.values()) {
      for (const a of annotations) {
        boxes++;
        counts[Math.min(9, Math.max(0, Math.floor(a.score * 10)))]++;
        perCategory[a.category_id] = (perCategory[a.category_id] ?? 0) + 1;
      }
    }
    const edges = Array.from({ length: 11 }, (_, i) => i / 10);
    return {
      images: this.#records.size,
      boxes,
      scoreHistogram: { edges, counts },
      perCategory,
    };
  }

  /** Flushes and closes the journal (the store cannot add afterwards). */
  async close(): Promise<void> {
    await this.sync();
    this.#file?.close();
    this.#file = null;
  }
}

/**
 * Parses a journal's bytes into `records` and returns the byte length of its
 * valid prefix (everything up to the last complete line).
 */
function recoverJournal(
  path: string,
  bytes: Uint8Array,
  header: string,
  records: PseudoImageRecord[],
): number {
  const decoder = new TextDecoder();
  const seen = new Set<number | string>();
  let start = 0;
  let line = 0;
  for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, start)) {
    const text = decoder.decode(bytes.subarray(start, nl));
    line++;
    if (line === 1) {
      if (text + "\n" !== header) {
        throw new Error(
          `${path}: journal was written for other categories or shard than this run (header ${
            text.slice(0, 120)
          }...)`,
        );
      }
    } else {
      let record: PseudoImageRecord;
      try {
        record = JSON.parse(text);
      } catch {
        throw new Error(`${path}: corrupt journal line ${line}`);
      }
      if (seen.has(record.image?.id)) {
        throw new Error(
          `${path}: image ${record.image.id} twice in the journal`,
        );
      }
      seen.add(record.image.id);
      records.push(record);
    }
    start = nl + 1;
  }
  if (line === 0) throw new Error(`${path}: journal has no header line`);
  return start;
}
