import assert from "node:assert/strict";
import {
  applyOverrides,
  flattenConfig,
  formatLeaf,
  setConfigKey,
} from "../core/config.ts";
import { parseRecipeArgs } from "../cli/recipe.ts";

const defaults = {
  seed: 0,
  train: { steps: 10, lr: 0.1, optimizer: "sgd", ema: false },
};

Deno.test("dotted overrides are typed by the defaults", () => {
  const c = applyOverrides(defaults, {
    "train.steps": "25",
    "train.ema": "true",
    seed: 3,
  });
  assert.deepEqual(c, {
    seed: 3,
    train: { steps: 25, lr: 0.1, optimizer: "sgd", ema: true },
  });
  assert.equal(defaults.train.steps, 10, "defaults are not mutated");
  assert.deepEqual(flattenConfig(c).map(([k]) => k), [
    "seed",
    "train.steps",
    "train.lr",
    "train.optimizer",
    "train.ema",
  ]);
});

Deno.test("unknown keys and wrong types are one-line errors naming valid keys", () => {
  assert.throws(() => applyOverrides(defaults, { "train.step": "5" }), {
    message:
      'unknown key "train.step"; valid keys: seed, train.steps, train.lr, train.optimizer, train.ema',
  });
  assert.throws(
    () => applyOverrides(defaults, { "train": "5" }),
    /unknown key "train"/,
  );
  assert.throws(
    () => applyOverrides(defaults, { "train.lr": "fast" }),
    /--train.lr expects a number, got "fast"/,
  );
  assert.throws(
    () => applyOverrides(defaults, { "train.ema": "yes" }),
    /expects true or false/,
  );
  assert.throws(
    () =>
      setConfigKey(structuredClone(defaults), "train.optimizer", "rmsprop", {
        "train.optimizer": ["sgd", "adam"],
      }),
    /--train.optimizer must be one of sgd, adam, got "rmsprop"/,
  );
});

Deno.test("command line: flags, recipe name, both override forms", () => {
  const a = parseRecipeArgs([
    "coco-selftrain",
    "--train.steps=5",
    "--data.fraction",
    "0.2",
    "--out",
    "/tmp/x",
    "--plugin",
    "a.ts",
    "--plugin",
    "b.ts",
    "--resume",
    "--serve",
  ]);
  assert.equal(a.recipe, "coco-selftrain");
  assert.deepEqual(a.overrides, { "train.steps": "5", "data.fraction": "0.2" });
  assert.equal(a.flags.out, "/tmp/x");
  assert.deepEqual(a.flags.plugin, ["a.ts", "b.ts"]);
  assert.equal(a.flags.resume, true);
  assert.equal(a.flags.serve, "127.0.0.1:8787");
  assert.throws(() => parseRecipeArgs(["a", "b"]), /one recipe at a time/);
});

Deno.test("lists: comma-separated on the command line, element types checked", () => {
  const d = { head: { ratios: [1, 2, 0.5], names: ["a"], on: true } };
  const c = applyOverrides(d, {
    "head.ratios": "1, 1.5,3",
    "head.names": "x,y",
  });
  assert.deepEqual(c.head.ratios, [1, 1.5, 3]);
  assert.deepEqual(c.head.names, ["x", "y"]);
  assert.deepEqual(d.head.ratios, [1, 2, 0.5], "defaults are not mutated");
  assert.deepEqual(applyOverrides(d, { "head.ratios": "" }).head.ratios, []);
  // A typed tree of overrides (JSON) keeps its arrays.
  assert.deepEqual(
    applyOverrides(d, { head: { ratios: [4] } }).head.ratios,
    [4],
  );
  assert.throws(
    () => applyOverrides(d, { "head.ratios": "1,two" }),
    { message: '--head.ratios expects a number, got "two"' },
  );
  assert.throws(
    () => applyOverrides(d, { head: { ratios: ["1"] } }),
    { message: '--head.ratios expects a list of numbers, got ["1"]' },
  );
  assert.throws(
    () => applyOverrides(d, { head: { ratios: 3 } }),
    /--head\.ratios expects a list of numbers, got 3/,
  );
  assert.throws(
    () => applyOverrides(d, { head: { on: [true] } }),
    /--head\.on expects a boolean/,
  );
  assert.deepEqual(flattenConfig(c), [
    ["head.ratios", [1, 1.5, 3]],
    ["head.names", ["x", "y"]],
    ["head.on", true],
  ]);
  assert.equal(formatLeaf([1, 2, 0.5]), "1,2,0.5");
  assert.equal(formatLeaf(0.5), "0.5");
});
