/**
 * A lock file per phase folder, so that two processes never train the same
 * phase into one `--out` at once (their checkpoints and metrics would
 * interleave). The lock holds the owner's pid; a lock whose process is gone
 * (killed with SIGKILL, say) is stale and taken over.
 */
import { exists } from "../core/fs.ts";

/** True while a process with `pid` exists. */
function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return e instanceof Deno.errors.PermissionDenied;
  }
}

/** Runs `fn` holding `<out>/<phase>.lock`; a live holder is a one-line error. */
export async function withPhaseLock<T>(
  out: string,
  phase: string,
  fn: () => Promise<T>,
): Promise<T> {
  const path = `${out}/${phase}.lock`;
  await Deno.mkdir(out, { recursive: true });
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.writeTextFile(path, `${Deno.pid}\n`, { createNew: true });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 0) throw e;
      const holder = Number((await Deno.readTextFile(path)).trim());
      if (alive(holder) && holder !== Deno.pid) {
        throw new Error(
          `${path}: process ${holder} is running the ${phase} phase in ${out}; wait for it to finish or use another --out`,
        );
      }
      // Stale: its process died without removing it.
      await Deno.remove(path).catch(() => {});
    }
  }
  try {
    return await fn();
  } finally {
    if (await exists(path)) await Deno.remove(path).catch(() => {});
  }
}
