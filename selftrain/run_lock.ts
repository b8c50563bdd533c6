/**
 * A lock file per phase folder, so that two processes never train the same
 * phase into one `--out` at once (their checkpoints and metrics would
 * interleave). The lock holds the owner's pid and host name; a lock whose
 * process is gone (killed with SIGKILL, say) is stale and taken over, and
 * so is one written on another host (a pod or node since replaced: its pid
 * means nothing here, and a scheduler gives one worker per shard).
 */
import { hostname } from "node:os";
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

/** The lock is held by another live process. */
export class LockHeldError extends Error {
  /** Pid of the holder. */
  readonly holder: number;

  /** A one-line message naming the lock file and the holder. */
  constructor(message: string, holder: number) {
    super(message);
    this.name = "LockHeldError";
    this.holder = holder;
  }
}

/**
 * Runs `fn` holding `<out>/<phase>.lock`; a live holder is a one-line
 * `LockHeldError`.
 */
export async function withPhaseLock<T>(
  out: string,
  phase: string,
  fn: () => Promise<T>,
): Promise<T> {
  const path = `${out}/${phase}.lock`;
  await Deno.mkdir(out, { recursive: true });
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.writeTextFile(path, `${Deno.pid} ${hostname()}\n`, {
        createNew: true,
      });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 0) throw e;
      const [pid, host] = (await Deno.readTextFile(path)).trim().split(/\s+/);
      const holder = Number(pid);
      const here = host === undefined || host === hostname();
      if (here && alive(holder) && holder !== Deno.pid) {
        throw new LockHeldError(
          `${path}: process ${holder} is running the ${phase} phase in ${out}; wait for it to finish or use another --out`,
          holder,
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
