/**
 * `deno task eval voc --gt DIR --pred DIR [--list FILE] [--classes 21] [--json]`
 *
 * Mean IoU of predicted PNG masks (palette or grey indices) against ground
 * truth masks, matched by file name, from one confusion matrix over the
 * whole set; GT 255 is ignored. Prints per-class IoU, mIoU and pixel
 * accuracy; with `--json` the last line is
 * `{"mIoU":…,"IoU":[…],"pixelAccuracy":…}` (IoU `null` for a class in
 * neither). A missing or extra prediction, a size mismatch or a bad PNG
 * exits with status 1 and a one-line error naming the file. `--list` (a
 * split list such as `ImageSets/Segmentation/val.txt`, one id per line)
 * evaluates only those ids, so `--gt` may be VOC's whole
 * `SegmentationClass/` folder.
 */
import { parseCommand } from "./args.ts";
import { basename, join } from "node:path";
import { ConfusionMatrix } from "../eval/miou.ts";
import { decodeMaskPng } from "../image/mask_png.ts";

const USAGE =
  "usage: deno task eval voc --gt DIR --pred DIR [--list FILE] [--classes 21] [--json]";

async function pngNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.toLowerCase().endsWith(".png")) names.push(e.name);
    }
  } catch (e) {
    throw new Error(`${dir}: cannot read folder: ${(e as Error).message}`);
  }
  return names.sort();
}

async function readMask(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return decodeMaskPng(bytes, path);
}

/** The ids of a split list file (one per line, blank lines skipped). */
async function readIdList(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read id list: ${(e as Error).message}`);
  }
  const ids = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l);
  if (ids.length === 0) throw new Error(`${path}: no ids in the list`);
  return ids;
}

/**
 * Evaluates the two folders (only the masks of `ids` when given); returns
 * the confusion matrix.
 */
export async function evaluateMaskFolders(
  gtDir: string,
  predDir: string,
  classes: number,
  ids?: readonly string[],
): Promise<ConfusionMatrix> {
  let gt = await pngNames(gtDir);
  if (ids) {
    const have = new Set(gt);
    gt = ids.map((id) => `${id}.png`);
    const absent = gt.find((n) => !have.has(n));
    if (absent) {
      throw new Error(`${join(gtDir, absent)}: listed, but no such mask`);
    }
  }
  const pred = new Set(await pngNames(predDir));
  if (gt.length === 0) throw new Error(`${gtDir}: no PNG masks`);
  for (const name of gt) {
    if (!pred.has(name)) {
      throw new Error(
        `${join(predDir, name)}: missing prediction for ${join(gtDir, name)}`,
      );
    }
  }
  const gtSet = new Set(gt);
  for (const name of pred) {
    if (!gtSet.has(name)) {
      throw new Error(
        `${join(predDir, name)}: extra prediction, no ${join(gtDir, name)}`,
      );
    }
  }
  const cm = new ConfusionMatrix(classes);
  for (const name of gt) {
    const g = await readMask(join(gtDir, name));
    const pPath = join(predDir, name);
    const p = await readMask(pPath);
    if (g.width !== p.width || g.height !== p.height) {
      throw new Error(
        `${pPath}: prediction is ${p.width}x${p.height}, ground truth ${g.width}x${g.height}`,
      );
    }
    cm.add(g.data, p.data, basename(pPath));
  }
  return cm;
}

/** Runs `eval voc` on `args` (after the task name); returns the exit code. */
export async function mainVoc(args: string[]): Promise<number> {
  const values = parseCommand("eval", USAGE, args, {
    gt: { type: "string" },
    pred: { type: "string" },
    list: { type: "string" },
    classes: { type: "string", default: "21" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof values === "number") return values;
  const classes = Number(values.classes);
  if (!values.gt || !values.pred || !Number.isInteger(classes)) {
    console.error(
      `eval: --gt and --pred are required, --classes a whole number\n${USAGE}`,
    );
    return 2;
  }
  try {
    const ids = values.list ? await readIdList(values.list) : undefined;
    const m = (await evaluateMaskFolders(values.gt, values.pred, classes, ids))
      .metrics();
    m.IoU.forEach((v, k) =>
      console.log(
        ` class ${String(k).padStart(3)} IoU=${
          v === null ? "  n/a" : v.toFixed(4)
        }`,
      )
    );
    console.log(
      ` mIoU=${m.mIoU.toFixed(4)} pixelAccuracy=${m.pixelAccuracy.toFixed(4)}`,
    );
    if (values.json) {
      console.log(
        JSON.stringify({
          mIoU: m.mIoU,
          IoU: m.IoU,
          pixelAccuracy: m.pixelAccuracy,
        }),
      );
    }
    return 0;
  } catch (e) {
    console.error(`eval: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}
