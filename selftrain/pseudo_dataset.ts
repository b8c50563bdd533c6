/**
 * The unlabelled pool seen through its pseudo-labels: each image keeps its
 * pixels and gets the teacher's boxes (from the COCO pseudo-label file),
 * mapped into the sample's (letterboxed) pixels.
 */
import { readJson } from "../core/fs.ts";
import type { PseudoLabels } from "../core/contracts.ts";
import type { Dataset, Sample } from "../core/types.ts";
import {
  emptyPseudoLabels,
  pseudoLabelledSample,
  sourceSize,
} from "./pseudo_labels.ts";

interface PseudoFile {
  images: { id: number | string }[];
  annotations: {
    image_id: number | string;
    category_id: number;
    bbox: number[];
    score?: number;
    iscrowd?: number;
  }[];
  categories: { id: number }[];
}

/** Pseudo-labelled view of an unlabelled dataset. */
export class PseudoLabeledDataset implements Dataset {
  /** Class names. */
  readonly classNames: readonly string[];
  /** Images with a pseudo-label record. */
  readonly size: number;
  readonly #base: Dataset;
  readonly #indices: number[];
  readonly #boxes: Map<number | string, PseudoFile["annotations"]>;
  readonly #labelOf: Map<number, number>;

  private constructor(base: Dataset, indices: number[], file: PseudoFile) {
    this.#base = base;
    this.#indices = indices;
    this.size = indices.length;
    this.classNames = base.classNames;
    this.#boxes = new Map(file.images.map((im) => [im.id, []]));
    for (const a of file.annotations) this.#boxes.get(a.image_id)?.push(a);
    const ids = file.categories.map((c) => c.id).sort((a, b) => a - b);
    this.#labelOf = new Map(ids.map((id, label) => [id, label]));
  }

  /** Checks that every box's category is one of the dataset's classes. */
  static #check(base: Dataset, path: string, file: PseudoFile): void {
    if (!Array.isArray(file.categories)) {
      throw new Error(`${path}: no categories list`);
    }
    if (file.categories.length !== base.classNames.length) {
      throw new Error(
        `${path}: ${file.categories.length} categories, the dataset has ${base.classNames.length} classes`,
      );
    }
    const known = new Set(file.categories.map((c) => c.id));
    for (const a of file.annotations) {
      if (!known.has(a.category_id)) {
        throw new Error(
          `${path}: pseudo box of image ${a.image_id} has category ${a.category_id}, which is not in the dataset's categories [${
            [...known].join(", ")
          }]`,
        );
      }
    }
  }

  /**
   * Reads `path` (COCO instances with scores) and keeps the images of `base`
   * it labels (ids from `base.idOf`, or by loading each image without it).
   */
  static async open(
    base: Dataset,
    path: string,
  ): Promise<PseudoLabeledDataset> {
    const file = await readJson<PseudoFile>(path);
    if (!Array.isArray(file.images) || !Array.isArray(file.annotations)) {
      throw new Error(
        `${path}: not a COCO instances file (images, annotations)`,
      );
    }
    PseudoLabeledDataset.#check(base, path, file);
    const labelled = new Set(file.images.map((im) => im.id));
    const indices: number[] = [];
    for (let i = 0; i < base.size; i++) {
      const id = base.idOf ? base.idOf(i) : (await base.get(i)).id;
      if (labelled.has(id)) indices.push(i);
    }
    return new PseudoLabeledDataset(base, indices, file);
  }

  /** The image with its pseudo-labels, in the sample's pixels. */
  async get(index: number): Promise<Sample> {
    const sample = await this.#base.get(this.#indices[index]);
    return pseudoLabelledSample(sample, this.pseudoLabelsOf(sample));
  }

  /** The pseudo-labels of `sample` (source pixels), from the COCO file. */
  pseudoLabelsOf(sample: Sample): PseudoLabels {
    const anns = this.#boxes.get(sample.id) ?? [];
    const { width, height } = sourceSize(sample);
    const labels = emptyPseudoLabels(sample.id, width, height);
    labels.boxes = new Float32Array(anns.length * 4);
    labels.classes = new Int32Array(anns.length);
    labels.scores = new Float32Array(anns.length);
    labels.ignore = new Uint8Array(anns.length);
    anns.forEach((a, i) => {
      const [x, y, w, h] = a.bbox;
      labels.boxes.set([x, y, x + w, y + h], i * 4);
      labels.classes[i] = this.#labelOf.get(a.category_id)!;
      labels.scores[i] = a.score ?? 1;
      labels.ignore[i] = a.iscrowd ? 1 : 0;
    });
    return labels;
  }
}
