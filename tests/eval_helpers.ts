/** Runs `deno task eval` (cli/eval.ts) for the evaluation CLI tests. */

const CLI = new URL("../cli/eval.ts", import.meta.url).pathname;

/** Exit code, stdout and stderr of `cli/eval.ts ARGS`. */
export async function runEvalCli(
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: p.code, out: dec.decode(p.stdout), err: dec.decode(p.stderr) };
}
