/**
 * Joins sharded pseudo-label files into one COCO instances file.
 *
 *   deno task merge-labels --out merged.json shard0.json shard1.json ...
 *   deno task merge-labels --out merged.json runs/labels/   # every *.json
 *
 * Checks identical categories, no image in two files and (for shard files)
 * that every shard 0..N-1 is present once; writes atomically. See
 * docs/sharding.md.
 */
import { parseCommandWithPositionals } from "./args.ts";
import { mergeShardFiles } from "../selftrain/shard.ts";

const USAGE =
  "usage: deno task merge-labels --out merged.json [--allow-partial] FILE_OR_DIR...";

/** Runs the CLI on `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommandWithPositionals("merge-labels", USAGE, args, {
    out: { type: "string", short: "o" },
    "allow-partial": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (!values.out || positionals.length === 0) {
    console.error(`merge-labels: need --out and at least one input\n${USAGE}`);
    return 2;
  }
  try {
    const s = await mergeShardFiles(
      positionals,
      values.out,
      values["allow-partial"],
    );
    console.log(
      `merge-labels: ${s.files} file(s) -> ${values.out}: ${s.images} images, ${s.boxes} boxes`,
    );
    return 0;
  } catch (e) {
    console.error(`merge-labels: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
