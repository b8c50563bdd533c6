/**
 * torchvision EfficientNet-B0…B7 weights → a backbone checkpoint of the
 * `efficientnet` plugin, with the classifier head under `head.*`.
 *
 * torchvision's `efficientnet_bN` is this plugin's EfficientNet block for
 * block (stage table, compound scaling and rounding, SE width = block input
 * / 4 with SiLU and sigmoid, drop-connect `0.2·i/n`, 1×1 top conv to
 * `4·C7` channels, dropout + linear). Three things differ and are carried
 * in the checkpoint's config: batch-norm epsilon (1e-5 for B0–B4, 1e-3 for
 * B5–B7, whose weights were ported from TensorFlow), PyTorch's symmetric
 * padding of strided convs (`padding: symmetric`), and the layouts:
 * conv OIHW → HWIO, depthwise `[C, 1, k, k]` → `[k, k, C, 1]`, linear
 * `[out, in]` → `[in, out]`; `num_batches_tracked` is dropped.
 *
 * Names: `features.0` (stem) → `stem.*`; `features.S.R.block.J` → the
 * running block index, J being [expand], depthwise, SE, project;
 * `features.8` (top conv) → `head.top.*`; `classifier.1` → `head.fc.*`.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  EFFICIENTNET_DEFAULTS,
  EFFICIENTNET_NORM,
  EfficientNetClassifier,
  type EfficientNetConfig,
} from "../efficientnet/mod.ts";
import type { BackboneManifest } from "./checkpoint.ts";
import { describeMisfit } from "./init.ts";
import type { SafeTensor } from "./safetensors.ts";

/** torchvision's ImageNet preprocessing and batch-norm epsilon per variant. */
interface TorchvisionVariant {
  crop: number;
  resize: number;
  bnEpsilon: number;
}

/** From torchvision's `EfficientNet_BN_Weights.IMAGENET1K_V1` transforms. */
export const TORCHVISION_EFFICIENTNET: Readonly<
  Record<string, TorchvisionVariant>
> = {
  b0: { crop: 224, resize: 256, bnEpsilon: 1e-5 },
  b1: { crop: 240, resize: 256, bnEpsilon: 1e-5 },
  b2: { crop: 288, resize: 288, bnEpsilon: 1e-5 },
  b3: { crop: 300, resize: 320, bnEpsilon: 1e-5 },
  b4: { crop: 380, resize: 384, bnEpsilon: 1e-5 },
  b5: { crop: 456, resize: 456, bnEpsilon: 1e-3 },
  b6: { crop: 528, resize: 528, bnEpsilon: 1e-3 },
  b7: { crop: 600, resize: 600, bnEpsilon: 1e-3 },
};

/** Options of `importTorchvisionEfficientNet`. */
export interface TorchvisionImportOptions {
  /** Our backbone name, `efficientnet-b0` … `efficientnet-b7`. */
  model: string;
  /** The source file, named in errors and the provenance. */
  file: string;
  /** torchvision `width_mult` when not the variant's (0 = the variant's). */
  widthScale?: number;
  /** torchvision `depth_mult` when not the variant's (0 = the variant's). */
  depthScale?: number;
  /** Input size (default: torchvision's crop size of the variant). */
  inputSize?: number;
  /** Shorter-side resize before the crop (default: torchvision's). */
  resizeTo?: number;
  /** Class names (default `"0"` … `"999"`). */
  classes?: string[];
  /** Extra provenance (e.g. the file's SHA-256). */
  provenance?: Record<string, unknown>;
}

/** The imported variables and manifest, ready for `saveBackboneCheckpoint`. */
export interface ImportedBackbone {
  /** Variables by our names (backbone, then `head.*`); the caller disposes them. */
  variables: [string, tf.Tensor][];
  /** The manifest. */
  manifest: BackboneManifest;
}

const BN: Readonly<Record<string, string>> = {
  weight: "gamma",
  bias: "beta",
  running_mean: "moving_mean",
  running_var: "moving_variance",
};

type Layout = "conv" | "depthwise" | "linear" | "plain";

function convert(t: SafeTensor, layout: Layout): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data, t.shape, "float32");
    if (layout === "conv") return tf.transpose(x, [2, 3, 1, 0]);
    if (layout === "depthwise") return tf.transpose(x, [2, 3, 0, 1]);
    if (layout === "linear") return tf.transpose(x, [1, 0]);
    return x;
  });
}

/** Our name and layout of a conv+BN pair's member `rest` (`0.weight`, `1.bias`, …). */
function convBn(
  rest: string,
  conv: string,
  bn: string,
  layout: Layout = "conv",
): [string, Layout] | null {
  if (rest === "0.weight") return [conv, layout];
  const m = /^1\.(\w+)$/.exec(rest);
  return m && BN[m[1]] ? [`${bn}.${BN[m[1]]}`, "plain"] : null;
}

/**
 * Maps a torchvision EfficientNet state dict (as read from safetensors)
 * onto our variable names and layouts, and checks the result against the
 * EfficientNet classifier the manifest describes (every name, every shape);
 * errors are one line naming `opts.file`.
 */
export function importTorchvisionEfficientNet(
  tensors: ReadonlyMap<string, SafeTensor>,
  opts: TorchvisionImportOptions,
): ImportedBackbone {
  const m = /^efficientnet-(b[0-7])$/.exec(opts.model);
  if (!m) {
    throw new Error(
      `--model must be efficientnet-b0 … efficientnet-b7, got "${opts.model}"`,
    );
  }
  const variant = m[1];
  const tv = TORCHVISION_EFFICIENTNET[variant];
  const fail = (what: string): never => {
    throw new Error(`${opts.file}: ${what}`);
  };
  // Blocks in order: features.S.R with a `block` submodule.
  const blockKeys = new Set<string>();
  const expands = new Set<string>();
  let top = 0;
  for (const name of tensors.keys()) {
    const b = /^features\.(\d+)\.(\d+)\.block\.(\d+)\./.exec(name);
    if (b) {
      blockKeys.add(`${b[1]}.${b[2]}`);
      if (b[3] === "3") expands.add(`${b[1]}.${b[2]}`);
    }
    const f = /^features\.(\d+)\.0\.weight$/.exec(name);
    if (f) top = Math.max(top, Number(f[1]));
  }
  if (blockKeys.size === 0 || top === 0) {
    fail(
      "not a torchvision EfficientNet state dict (no features.S.R.block.* or top conv)",
    );
  }
  const order = [...blockKeys].sort((a, b) => {
    const [sa, ra] = a.split(".").map(Number),
      [sb, rb] = b.split(".").map(Number);
    return sa - sb || ra - rb;
  });
  const index = new Map(order.map((k, i) => [k, i]));

  const mapName = (name: string): [string, Layout] | null => {
    let r: RegExpExecArray | null;
    if ((r = /^features\.0\.(.+)$/.exec(name))) {
      return convBn(r[1], "stem.conv.kernel", "stem.bn");
    }
    if ((r = new RegExp(`^features\\.${top}\\.(.+)$`).exec(name))) {
      return convBn(r[1], "head.top.conv.kernel", "head.top.bn");
    }
    if (name === "classifier.1.weight") return ["head.fc.kernel", "linear"];
    if (name === "classifier.1.bias") return ["head.fc.bias", "plain"];
    r = /^features\.(\d+\.\d+)\.block\.(\d+)\.(.+)$/.exec(name);
    if (!r) return null;
    const i = index.get(r[1])!;
    const roles = expands.has(r[1])
      ? ["expand", "depthwise", "se", "project"]
      : ["depthwise", "se", "project"];
    const role = roles[Number(r[2])];
    const rest = r[3];
    const p = `block${i}`;
    if (role === "expand") {
      return convBn(rest, `${p}.expand.conv.kernel`, `${p}.expand.bn`);
    }
    if (role === "project") {
      return convBn(rest, `${p}.project.conv.kernel`, `${p}.project.bn`);
    }
    if (role === "depthwise") {
      return convBn(
        rest,
        `${p}.depthwise.kernel`,
        `${p}.depthwise_bn`,
        "depthwise",
      );
    }
    if (role === "se") {
      const s = /^fc([12])\.(weight|bias)$/.exec(rest);
      if (!s) return null;
      const which = s[1] === "1" ? "reduce" : "expand";
      return s[2] === "weight"
        ? [`${p}.se.${which}.kernel`, "conv"]
        : [`${p}.se.${which}.bias`, "plain"];
    }
    return null;
  };

  const mapped = new Map<string, [string, SafeTensor, Layout]>();
  const unknown: string[] = [];
  for (const [name, t] of tensors) {
    if (name.endsWith("num_batches_tracked")) continue;
    const to = mapName(name);
    if (!to) unknown.push(name);
    else mapped.set(to[0], [name, t, to[1]]);
  }
  if (unknown.length) {
    fail(
      `${unknown.length} tensors with no EfficientNet counterpart: ${
        unknown.slice(0, 4).join(", ")
      }${unknown.length > 4 ? ", …" : ""}`,
    );
  }
  const fc = mapped.get("head.fc.kernel");
  if (!fc) fail("no classifier.1.weight (the classification head)");
  const numClasses = fc![1].shape[0];

  const config: EfficientNetConfig = {
    ...EFFICIENTNET_DEFAULTS,
    variant,
    padding: "symmetric",
    widthScale: opts.widthScale ?? 0,
    depthScale: opts.depthScale ?? 0,
  };
  const norm = { ...EFFICIENTNET_NORM, bnEpsilon: tv.bnEpsilon };
  // The model the manifest describes: every name and shape must match it.
  const reference = new EfficientNetClassifier(config, { numClasses, norm });
  const expected = new Map(
    reference.namedVariables().map(([n, v]) => [
      n.startsWith("backbone.") ? n.slice(9) : `head.${n}`,
      { shape: v.shape },
    ]),
  );
  reference.dispose();
  const shapes = new Map(
    [...mapped].map(([n, [, t, layout]]) => {
      const s = t.shape;
      const shape = layout === "conv"
        ? [s[2], s[3], s[1], s[0]]
        : layout === "depthwise"
        ? [s[2], s[3], s[0], s[1]]
        : layout === "linear"
        ? [s[1], s[0]]
        : s;
      return [n, { shape }];
    }),
  );
  const misfit = describeMisfit(expected, shapes);
  if (misfit) {
    fail(
      `does not match ${opts.model}${
        opts.widthScale || opts.depthScale
          ? ` (width ${opts.widthScale || "default"}, depth ${
            opts.depthScale || "default"
          })`
          : ""
      }: ${misfit}`,
    );
  }
  const classes = opts.classes ??
    Array.from({ length: numClasses }, (_, i) => String(i));
  if (classes.length !== numClasses) {
    fail(`the head has ${numClasses} classes, ${classes.length} names given`);
  }
  const variables: [string, tf.Tensor][] = [...expected.keys()].map((n) => {
    const [, t, layout] = mapped.get(n)!;
    return [n, convert(t, layout)];
  });
  return {
    variables,
    manifest: {
      format: "selftrain-backbone/1",
      architecture: opts.model,
      // The shared settings it needs ride along (see `manifestBackbone`).
      config: { ...config, activation: "swish", bnEpsilon: tv.bnEpsilon },
      preprocessing: {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        range: 1,
        inputSize: opts.inputSize ?? tv.crop,
        resizeTo: opts.resizeTo ?? tv.resize,
        interpolation: "bicubic",
      },
      provenance: {
        source: "torchvision",
        created: new Date().toISOString(),
        file: opts.file,
        torchvisionModel: `efficientnet_${variant}`,
        ...opts.provenance,
      },
      classes,
    },
  };
}
