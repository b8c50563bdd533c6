/**
 * `deno task eval coco --gt GT.json --results DETECTIONS.json [--json]`
 * `deno task eval voc --gt DIR --pred DIR [--classes 21] [--json]` (mIoU of
 * PNG masks, see `eval_voc.ts`)
 *
 * Prints the pycocotools-style 12-line summary; with `--json` the last line
 * is `{"AP":…,"AP50":…,…,"ARl":…}` (fractions, −1 where undefined). Bad input
 * exits with status 1 and a one-line error naming the file.
 */
import { parseCommandWithPositionals } from "./args.ts";
import {
  COCO_METRIC_NAMES,
  evaluateCoco,
  formatCocoSummary,
  readCocoDataset,
  readCocoResults,
} from "../eval/mod.ts";
import { mainVoc } from "./eval_voc.ts";

const USAGE =
  "usage: deno task eval coco --gt GT.json --results DETECTIONS.json [--json] [--per-category] [--ignore-unknown-images]";

/** Runs the CLI on `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "voc") return await mainVoc(args.slice(1));
  const parsed = parseCommandWithPositionals("eval", USAGE, args, {
    gt: { type: "string" },
    results: { type: "string" },
    json: { type: "boolean", default: false },
    "per-category": { type: "boolean", default: false },
    "ignore-unknown-images": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals[0] !== "coco" || positionals.length !== 1) {
    console.error(`eval: expected the task "coco" or "voc"\n${USAGE}`);
    return 2;
  }
  if (!values.gt || !values.results) {
    console.error(`eval: --gt and --results are required\n${USAGE}`);
    return 2;
  }
  try {
    const gt = await readCocoDataset(values.gt);
    const results = await readCocoResults(values.results);
    const r = evaluateCoco(gt, results, {
      resultsFile: values.results,
      unknownImages: values["ignore-unknown-images"] ? "ignore" : "error",
    });
    console.log(formatCocoSummary(r.stats));
    if (values["per-category"]) {
      for (const c of r.perCategory) {
        console.log(
          ` category ${String(c.categoryId).padStart(4)} ${
            c.name.padEnd(20)
          } AP=${c.AP.toFixed(3)} AP50=${c.AP50.toFixed(3)}`,
        );
      }
    }
    if (values.json) {
      console.log(
        JSON.stringify(
          Object.fromEntries(COCO_METRIC_NAMES.map((n) => [n, r.metrics[n]])),
        ),
      );
    }
    return 0;
  } catch (e) {
    console.error(`eval: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
