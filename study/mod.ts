/**
 * The study: the paper's tables in miniature. A grid of init × method ×
 * augmentation × labelled fraction × seed per task, each cell a recipe run
 * in its own folder (skipped when finished, resumed when interrupted,
 * sharded with `--shard I/N`), folded into Markdown tables, JSON and SVG
 * plots. `deno task study` is its command line (docs/study.md).
 *
 * @module
 */
export * from "./methods.ts";
export * from "./grid.ts";
export * from "./runner.ts";
export * from "./results.ts";
export * from "./format.ts";
export * from "./report.ts";
