import assert from "node:assert/strict";
import { definePlugin, Registry } from "../core/registry.ts";
import { loadPlugin } from "../cli/plugins.ts";
import { classifierRegistry } from "./foundation_helpers.ts";

Deno.test("registry rejects duplicate names", () => {
  const r = classifierRegistry();
  assert.throws(
    () =>
      r.register("loss", {
        name: "softmax-ce",
        description: "",
        defaults: {},
        create: () => ({} as never),
      }),
    /loss "softmax-ce" is already registered/,
  );
});

Deno.test("unknown name fails at once and lists what is registered", () => {
  const r = classifierRegistry();
  assert.throws(() => r.get("backbone", "resnet-9000"), {
    message: 'unknown backbone "resnet-9000"; registered: tiny-convnet',
  });
  assert.throws(() => new Registry().get("head", "x"), /registered: \(none\)/);
});

Deno.test("create checks config keys and types against the defaults", () => {
  const r = classifierRegistry();
  assert.throws(
    () => r.create("backbone", "tiny-convnet", { widht: 8 }),
    /backbone "tiny-convnet": unknown key "widht"; valid keys: width, stages$/,
  );
  assert.throws(
    () => r.create("backbone", "tiny-convnet", { width: "wide" }),
    /--width expects a number, got "wide"/,
  );
  const net = r.create("backbone", "tiny-convnet", { width: 8, stages: 2 });
  assert.deepEqual(net.outputChannels, { 1: 8, 2: 16 });
  net.dispose();
});

Deno.test("loadPlugin installs a module's default Plugin and rejects others", async () => {
  const dir = await Deno.makeTempDir();
  const good = `${dir}/good.ts`;
  await Deno.writeTextFile(
    good,
    `export default { name: "p", setup(r) { r.register("loss", { name: "zero", description: "d", defaults: {}, create: () => ({}) }); } };`,
  );
  const bad = `${dir}/bad.ts`;
  await Deno.writeTextFile(bad, `export const x = 1;`);
  const r = new Registry();
  await loadPlugin(good, r);
  assert.deepEqual(r.list("loss"), ["zero"]);
  await assert.rejects(
    loadPlugin(bad, r),
    /bad\.ts: default export must be a Plugin/,
  );
  await assert.rejects(
    loadPlugin(`${dir}/missing.ts`, r),
    /missing\.ts: cannot import/,
  );
  assert.equal(definePlugin({ name: "x", setup() {} }).name, "x");
});
