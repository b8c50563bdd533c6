/**
 * The freezable parts of each built-in backbone, in input-to-output order:
 * the stem, then its stages. `freezeStages(backbone, N)` freezes the stem
 * and the first N stages (detectron2's `FREEZE_AT`, counted from the stem):
 * their parameters leave the optimizer and their batch norms run on moving
 * statistics (`Module.freeze`).
 *
 * - EfficientNet: stem = the 3×3/2 conv; stages = the seven MBConv groups
 *   of the architecture table (a stage begins at each block that changes
 *   width or stride, i.e. is not residual), as scaled by the variant.
 * - SpineNet: stem = the 7×7/2 conv and the L2 bottleneck groups; stages =
 *   the permuted blocks in build order, each with its resampling inputs
 *   (the endpoints' 1×1 convs are never frozen).
 * - plain conv nets (`tiny-convnet`, the body of `convnet-fpn`,
 *   `convnet-seg`): stem = stage 1 (the first stride-2 pair); stage k =
 *   the net's stage k + 1.
 *
 * Wrappers (`efficientnet-fpn`, `convnet-fpn`) are searched for the first
 * of these bodies; decoders around them (FPN) are never frozen.
 */
import type { Module } from "../../core/nn/module.ts";
import { TinyConvNet } from "../classifier/convnet.ts";
import { ConvNetSeg } from "../deeplab/backbones.ts";
import { EfficientNet } from "../efficientnet/efficientnet.ts";
import { SpineNet } from "../spinenet/spinenet.ts";

/** Module paths (relative to the backbone) of the stem and each stage. */
export interface BackboneStages {
  /** Path of the body the stages belong to (`""` = the backbone itself). */
  body: string;
  /** The stem's modules. */
  stem: string[];
  /** Each stage's modules, in order. */
  stages: string[][];
}

function childNames(modules: [string, Module][], path: string): string[] {
  const prefix = path ? `${path}.` : "";
  return modules
    .map(([n]) => n)
    .filter((n) =>
      n.startsWith(prefix) && n.length > prefix.length &&
      !n.slice(prefix.length).includes(".")
    )
    .map((n) => n.slice(prefix.length));
}

function efficientNetStages(net: EfficientNet): string[][] {
  const stages: string[][] = [];
  net.plan.blocks.forEach((b, i) => {
    const residual = b.stride === 1 && b.inChannels === b.outChannels;
    if (!residual || stages.length === 0) stages.push([]);
    stages[stages.length - 1].push(`block${i}`);
  });
  return stages;
}

function convNetStages(
  names: string[],
): { stem: string[]; stages: string[][] } {
  const byStage = new Map<number, string[]>();
  for (const n of names) {
    const m = /^stage(\d+)_/.exec(n);
    if (!m) continue;
    const k = Number(m[1]);
    byStage.set(k, [...(byStage.get(k) ?? []), n]);
  }
  const ordered = [...byStage.keys()].sort((a, b) => a - b)
    .map((k) => byStage.get(k)!);
  return { stem: ordered[0] ?? [], stages: ordered.slice(1) };
}

function spineNetStages(
  names: string[],
): { stem: string[]; stages: string[][] } {
  const stem = names.filter((n) =>
    n === "stem_conv" || /^stem_block\d+$/.test(n)
  );
  const blocks = names
    .map((n) => /^block(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const stages = blocks.map((b) => [
    ...names.filter((n) => n.startsWith(`block${b}_resample`)),
    `block${b}`,
  ]);
  return { stem, stages };
}

/** The stem and stages of `backbone`, or `null` when it has no known body. */
export function backboneStages(backbone: Module): BackboneStages | null {
  const modules = backbone.namedModules();
  for (const [path, m] of modules) {
    const names = childNames(modules, path);
    const rel = (n: string) => path ? `${path}.${n}` : n;
    let found: { stem: string[]; stages: string[][] } | null = null;
    if (m instanceof EfficientNet) {
      found = { stem: ["stem"], stages: efficientNetStages(m) };
    } else if (m instanceof SpineNet) found = spineNetStages(names);
    else if (m instanceof TinyConvNet || m instanceof ConvNetSeg) {
      found = convNetStages(names);
    }
    if (found) {
      return {
        body: path,
        stem: found.stem.map(rel),
        stages: found.stages.map((s) => s.map(rel)),
      };
    }
  }
  return null;
}

/**
 * Freezes the stem and the first `n` stages of `backbone` (`n` = −1:
 * nothing); returns the frozen module paths. `name` (the backbone's) goes
 * into errors, which are one line.
 */
export function freezeStages(
  backbone: Module,
  n: number,
  name: string,
): string[] {
  if (!Number.isInteger(n) || n < -1) {
    throw new Error(
      `model.freezeAt must be -1 (nothing), 0 (the stem) or a stage count, got ${n}`,
    );
  }
  if (n === -1) return [];
  const s = backboneStages(backbone);
  if (!s) {
    throw new Error(
      `model.freezeAt=${n}: backbone "${name}" has no known stem and stages (built-in EfficientNet, SpineNet and conv nets do)`,
    );
  }
  if (n > s.stages.length) {
    throw new Error(
      `model.freezeAt=${n}: backbone "${name}" has ${s.stages.length} stages after its stem`,
    );
  }
  const paths = [...s.stem, ...s.stages.slice(0, n).flat()];
  const byPath = new Map(backbone.namedModules());
  for (const p of paths) byPath.get(p)!.freeze();
  return paths;
}
