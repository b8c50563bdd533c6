/**
 * A classifier back from a backbone checkpoint that has a head (`head.*`
 * and `classes`): EfficientNet's own head (`head.top.*` + `head.fc.*`, as
 * imported from torchvision) or the registry's `classification` head
 * (`head.dense.*`, global pool + dense over the deepest level), and the
 * image preparation its manifest asks for.
 */
import * as tf from "@tensorflow/tfjs-core";
import { imagesToTensor, type Normalization } from "../../core/data/loader.ts";
import { resizeBilinear } from "../../image/resize.ts";
import type { Module } from "../../core/nn/module.ts";
import type { Registry } from "../../core/registry.ts";
import type { RawImage } from "../../core/types.ts";
import { ClassificationHead } from "../classifier/head.ts";
import {
  EFFICIENTNET_DEFAULTS,
  EfficientNetClassifier,
} from "../efficientnet/mod.ts";
import { normActFrom } from "../layers/conv_bn.ts";
import {
  type BackboneCheckpoint,
  type BackbonePreprocessing,
  HEAD_PREFIX,
  manifestBackbone,
  normalizationOf,
} from "./checkpoint.ts";
import { describeMisfit } from "./init.ts";

/** A classifier with the weights of a checkpoint. */
export interface CheckpointClassifier {
  /** Class names, index = output. */
  classes: string[];
  /** The checkpoint's preprocessing. */
  preprocessing: BackbonePreprocessing;
  /** Inference-mode logits `[N, classes]` of images prepared by `prepareImage`. */
  logits(images: tf.Tensor4D): tf.Tensor2D;
  /** Frees the weights. */
  dispose(): void;
}

/** `[name in the model, name in the checkpoint]` → copies, or a one-line error. */
function load(
  model: Module,
  ck: BackboneCheckpoint,
  dir: string,
  ckName: (n: string) => string,
): void {
  const target = new Map(
    model.namedVariables().map(([n, v]) => [ckName(n), v]),
  );
  const misfit = describeMisfit(target, ck.tensors);
  if (misfit) throw new Error(`${dir}: classifier does not fit: ${misfit}`);
  for (const [n, v] of target) v.assign(ck.tensors.get(n)!);
}

/**
 * Builds the classifier a checkpoint with a head describes and loads it;
 * `registry` builds non-EfficientNet backbones by their registered name.
 */
export function checkpointClassifier(
  ck: BackboneCheckpoint,
  dir: string,
  registry: Registry,
): CheckpointClassifier {
  const { manifest } = ck;
  const classes = manifest.classes;
  if (!classes) {
    throw new Error(
      `${dir}: no classification head in this checkpoint (backbone.json has no classes)`,
    );
  }
  const has = (n: string) => ck.tensors.has(HEAD_PREFIX + n);
  let apply: (x: tf.Tensor4D) => tf.Tensor2D;
  const owned: Module[] = [];
  if (has("fc.kernel") && has("top.conv.kernel")) {
    const { config, shared } = manifestBackbone(
      manifest.config,
      EFFICIENTNET_DEFAULTS,
    );
    const net = new EfficientNetClassifier(
      { ...EFFICIENTNET_DEFAULTS, ...config },
      { numClasses: classes.length, norm: normActFrom(shared, "swish") },
    );
    owned.push(net);
    load(
      net,
      ck,
      dir,
      (n) => n.startsWith("backbone.") ? n.slice(9) : HEAD_PREFIX + n,
    );
    apply = (x) => net.apply(x, { training: false });
  } else if (has("dense.kernel")) {
    const declared = registry.get("backbone", manifest.architecture).defaults;
    const { config, shared } = manifestBackbone(manifest.config, declared);
    const backbone = registry.create(
      "backbone",
      manifest.architecture,
      config,
      {
        shared,
      },
    );
    const head = new ClassificationHead({
      channels: backbone.outputChannels,
      numClasses: classes.length,
      inputSize: [
        manifest.preprocessing.inputSize,
        manifest.preprocessing.inputSize,
      ],
    });
    owned.push(backbone, head);
    load(backbone, ck, dir, (n) => n);
    load(head, ck, dir, (n) => HEAD_PREFIX + n);
    apply = (x) => head.apply(backbone.apply(x, { training: false }));
  } else {
    throw new Error(
      `${dir}: head.* is neither EfficientNet's (head.top.*, head.fc.*) nor the classification head's (head.dense.*)`,
    );
  }
  return {
    classes,
    preprocessing: manifest.preprocessing,
    logits: (images) => tf.tidy(() => apply(images)),
    dispose: () => owned.forEach((m) => m.dispose()),
  };
}

/**
 * An image as the checkpoint's preprocessing prepares it: the shorter side
 * resized to `resizeTo` (bilinear; torchvision's is bicubic) and the centre
 * `inputSize` square cropped, or resized straight to `inputSize` when
 * `resizeTo` is 0 or absent.
 */
export function prepareImage(
  image: RawImage,
  p: BackbonePreprocessing,
): RawImage {
  const size = p.inputSize;
  if (!p.resizeTo) return resizeBilinear(image, size, size);
  const scale = p.resizeTo / Math.min(image.width, image.height);
  const w = Math.max(size, Math.round(image.width * scale));
  const h = Math.max(size, Math.round(image.height * scale));
  const resized = resizeBilinear(image, w, h);
  const x0 = Math.floor((w - size) / 2), y0 = Math.floor((h - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((y + y0) * w + x0) * 3;
    out.set(resized.data.subarray(from, from + size * 3), y * size * 3);
  }
  return { data: out, width: size, height: size, channels: 3 };
}

/** Prepared images → the normalised batch the checkpoint expects. */
export function checkpointBatch(
  images: readonly RawImage[],
  p: BackbonePreprocessing,
): tf.Tensor4D {
  const norm: Normalization = normalizationOf(p);
  return imagesToTensor(images.map((im) => prepareImage(im, p)), norm);
}
