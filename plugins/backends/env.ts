/**
 * The backends' environment switches, read without failing where the
 * process has no `--allow-env` (the defaults then hold).
 */

/** `name`'s value; undefined when unset or unreadable. */
export function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Whether `name` is `0`: a path turned off. */
export function envOff(name: string): boolean {
  return envValue(name) === "0";
}
