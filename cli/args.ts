/**
 * The flag parsing every command shares: `parseArgs`, a one-line usage error
 * (exit 2) and `--help` (exit 0), so each command states only its options.
 */
import { parseArgs } from "node:util";

type Options = NonNullable<
  NonNullable<Parameters<typeof parseArgs>[0]>["options"]
>;

/** Parsed values of `options`, as `parseArgs` types them. */
export type CommandValues<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O }>
>["values"];

/**
 * Parses `args` against `options` (which should include `help`): the values,
 * or the exit code when the command is to stop — 0 after printing `usage`
 * for `--help`, 2 after a one-line error followed by `usage`.
 */
export function parseCommand<const O extends Options>(
  command: string,
  usage: string,
  args: string[],
  options: O,
): CommandValues<O> | number {
  const parsed = parse(command, usage, args, options, false);
  return typeof parsed === "number" ? parsed : parsed.values;
}

/** {@link parseCommand} for a command that also takes positional arguments. */
export function parseCommandWithPositionals<const O extends Options>(
  command: string,
  usage: string,
  args: string[],
  options: O,
): { values: CommandValues<O>; positionals: string[] } | number {
  return parse(command, usage, args, options, true);
}

function parse<const O extends Options>(
  command: string,
  usage: string,
  args: string[],
  options: O,
  allowPositionals: boolean,
): { values: CommandValues<O>; positionals: string[] } | number {
  let parsed: { values: CommandValues<O>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals }) as typeof parsed;
  } catch (e) {
    console.error(`${command}: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if ((parsed.values as Record<string, unknown>).help) {
    console.log(usage);
    return 0;
  }
  return parsed;
}
