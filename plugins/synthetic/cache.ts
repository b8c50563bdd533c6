/** Built-once folders: the caches of the generated data sets. */
import { dirname } from "node:path";
import { exists } from "../../core/fs.ts";

/**
 * Makes sure folder `root` holds a complete build. When `<root>/COMPLETE`
 * is missing, `fill` writes the content into a temporary sibling folder,
 * which gets the marker and is renamed into place, so a crash never leaves
 * a half-written `root`; when a concurrent build finished first, its copy
 * is kept. Returns true when this call built it.
 */
export async function buildFolderOnce(
  root: string,
  fill: (tmp: string) => Promise<void>,
): Promise<boolean> {
  if (await exists(`${root}/COMPLETE`)) return false;
  await Deno.mkdir(dirname(root), { recursive: true });
  const tmp = `${root}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(tmp, { recursive: true });
    await fill(tmp);
    await Deno.writeTextFile(`${tmp}/COMPLETE`, "");
    try {
      await Deno.rename(tmp, root);
    } catch (e) {
      // Another process finished the same build first: use theirs.
      if (!(await exists(`${root}/COMPLETE`))) throw e;
      return false;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return true;
}

/**
 * The generator options among a dataset plugin's `config`: its values of
 * the keys of `defaults` (the generator's own defaults).
 */
export function generatorOptions<O extends object>(
  defaults: O,
  config: Readonly<O>,
): Partial<O> {
  const gen: Partial<O> = {};
  for (const key of Object.keys(defaults) as (keyof O)[]) {
    gen[key] = config[key];
  }
  return gen;
}

/**
 * A generator's options: `options` over `defaults`, checked by `check`,
 * which throws on a bad value.
 */
export function checkedOptions<O extends object>(
  defaults: O,
  options: Partial<O>,
  check: (o: O) => void,
): O {
  const o = { ...defaults, ...options };
  check(o);
  return o;
}
