/**
 * Contiguous class labels for COCO categories. COCO ids are sparse (1..90
 * with gaps); models want `0 .. numClasses-1`. Labels follow ascending
 * category id, so the mapping is the same for every split of a dataset.
 */
import type { CocoCategory } from "../../eval/coco_format.ts";

/** Two-way mapping between COCO category ids and contiguous labels. */
export class CategoryMap {
  readonly #ids: number[];
  readonly #names: string[];
  readonly #labelOf: Map<number, number>;

  /** Builds the mapping from a file's `categories` (sorted by id; duplicates rejected). */
  constructor(categories: readonly CocoCategory[], file = "<categories>") {
    const sorted = [...categories].sort((a, b) => a.id - b.id);
    this.#ids = sorted.map((c) => c.id);
    this.#names = sorted.map((c) => c.name);
    this.#labelOf = new Map(this.#ids.map((id, label) => [id, label]));
    if (this.#labelOf.size !== this.#ids.length) {
      const dup = this.#ids.find((id, i) => this.#ids.indexOf(id) !== i);
      throw new Error(`${file}: duplicate category id ${dup}`);
    }
  }

  /** Number of classes. */
  get size(): number {
    return this.#ids.length;
  }

  /** Class names, index = label. */
  get names(): readonly string[] {
    return this.#names;
  }

  /** COCO category ids, index = label. */
  get categoryIds(): readonly number[] {
    return this.#ids;
  }

  /** Label of a COCO category id, or `undefined` if unknown. */
  toLabel(categoryId: number): number | undefined {
    return this.#labelOf.get(categoryId);
  }

  /** COCO category id of a label; throws on an out-of-range label. */
  toCategoryId(label: number): number {
    const id = this.#ids[label];
    if (id === undefined) {
      throw new Error(`label ${label} out of range 0..${this.#ids.length - 1}`);
    }
    return id;
  }

  /** The categories in COCO form (for writing instances files). */
  toCoco(): CocoCategory[] {
    return this.#ids.map((id, i) => ({ id, name: this.#names[i] }));
  }
}
