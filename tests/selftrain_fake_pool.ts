/**
 * Test helper (not a test): labels a fake unlabelled pool into a
 * `PseudoLabelStore` with deterministic fake teacher detections. Run as a
 * script by the kill-resume test:
 *
 *   deno run -A tests/selftrain_fake_pool.ts DIR POOL SHARD PAUSE_AFTER
 *
 * prints `labelled ID` after each record, `PAUSE` (then blocks on stdin) after
 * PAUSE_AFTER new records when that is > 0, and `DONE` after finalize.
 */
import { Rng, seedFor } from "../core/rng.ts";
import type { Detection } from "../core/types.ts";
import {
  type CocoCategory,
  parseShard,
  pseudoLabelsFromDetections,
  PseudoLabelStore,
  type Shard,
  shardIndices,
} from "../selftrain/mod.ts";
import {
  HARD_DETECTION_DEFAULTS,
  selectHardDetections,
} from "../plugins/labelers/mod.ts";

/** Categories of the fake pool (ids not contiguous on purpose). */
export const FAKE_CATEGORIES: CocoCategory[] = [
  { id: 1, name: "circle" },
  { id: 3, name: "square" },
  { id: 7, name: "triangle" },
];

/** Image id of pool index `i` (mixed with string ids to test ordering). */
export function fakeId(i: number): number | string {
  return i % 5 === 4 ? `img-${i}` : 1000 + i;
}

/** Deterministic fake teacher output for pool index `i`, source pixels. */
export function fakeDetections(i: number): Detection[] {
  const rng = new Rng(seedFor(11, i));
  return Array.from({ length: rng.int(5) }, () => {
    const x = rng.uniform(0, 200), y = rng.uniform(0, 100);
    return {
      box: [x, y, x + rng.uniform(1, 60), y + rng.uniform(1, 40)],
      label: rng.int(3),
      score: rng.next(),
    };
  });
}

/** Labels the shard's part of a pool of `size`; returns the store. */
export async function labelPool(
  dir: string,
  size: number,
  shard: Shard,
  mode: "range" | "hash" = "range",
  onLabelled?: (id: number | string, added: number) => Promise<void>,
): Promise<PseudoLabelStore> {
  const store = await PseudoLabelStore.open(dir, {
    categories: FAKE_CATEGORIES,
    shard,
    syncEvery: 16,
  });
  let added = 0;
  for (const i of shardIndices(size, shard, mode, fakeId)) {
    const id = fakeId(i);
    if (store.has(id)) continue;
    await store.addPseudoLabels(
      pseudoLabelsFromDetections(
        { id, width: 320, height: 240 },
        selectHardDetections(fakeDetections(i), HARD_DETECTION_DEFAULTS),
      ),
      `${id}.jpg`,
    );
    await onLabelled?.(id, ++added);
  }
  await store.finalize();
  return store;
}

if (import.meta.main) {
  const [dir, size, shard, pauseAfter] = Deno.args;
  const encoder = new TextEncoder();
  const say = (s: string) => Deno.stdout.writeSync(encoder.encode(s + "\n"));
  await labelPool(
    dir,
    Number(size),
    parseShard(shard),
    "range",
    async (id, added) => {
      say(`labelled ${id}`);
      if (added === Number(pauseAfter)) {
        say("PAUSE");
        // Block until killed: the kill lands at a known point of the run.
        await Deno.stdin.read(new Uint8Array(1));
      }
    },
  );
  say("DONE");
}
