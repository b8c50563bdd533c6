/**
 * Atomic file writes and JSON reads with one-line errors naming the file.
 * Data goes to a temp file in the same folder, is synced, then renamed over
 * the target, so readers (and a resumed run after a kill) see either the old
 * file or the new one, never a torn one.
 */

function firstLine(e: unknown): string {
  return (e as Error).message.split("\n")[0];
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  try {
    const file = await Deno.open(tmp, {
      write: true,
      create: true,
      truncate: true,
    });
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`${path}: cannot write: ${firstLine(e)}`);
  }
}

/** Writes `value` as JSON to `path` atomically (indented unless `compact`). */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  compact = false,
): Promise<void> {
  const text = compact ? JSON.stringify(value) : JSON.stringify(value, null, 2);
  await writeFileAtomic(path, text + "\n");
}

/** Reads and parses a JSON file; errors name the file and stay on one line. */
export async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${firstLine(e)}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${path}: malformed JSON: ${firstLine(e)}`);
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
