/** `--plugin FILE|URL`: a user's plugin module, imported and installed. */
import type { Plugin, Registry } from "../core/registry.ts";

/**
 * Imports a plugin module from a file path or URL and installs its default
 * export. Errors name the module.
 */
export async function loadPlugin(
  specifier: string,
  registry: Registry,
): Promise<Plugin> {
  const url = /^[a-z][a-z0-9+.-]*:/i.test(specifier)
    ? specifier
    : new URL(specifier, `file://${Deno.cwd()}/`).href;
  let mod: { default?: unknown };
  try {
    mod = await import(url);
  } catch (e) {
    throw new Error(
      `plugin ${specifier}: cannot import: ${(e as Error).message}`,
    );
  }
  const plugin = mod.default as Plugin | undefined;
  if (!plugin || typeof plugin.setup !== "function") {
    throw new Error(
      `plugin ${specifier}: default export must be a Plugin ({ name, setup(registry) })`,
    );
  }
  registry.use(plugin);
  return plugin;
}
