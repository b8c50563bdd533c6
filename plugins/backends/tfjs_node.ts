/**
 * Loader shared by the `tensorflow` and `tensorflow-gpu` providers:
 * `@tensorflow/tfjs-node[-gpu]` is never a dependency of this project. It is
 * imported only when chosen, and only if it is already installed next to the
 * project (its install script downloads libtensorflow, which plain
 * `deno install` does not run), so probing never downloads anything.
 */
import type { BackendProvider, ProbeResult } from "../../core/backend.ts";
import { useTfBackend } from "./use.ts";

/** The tfjs version every tfjs package here is pinned to. */
export const TFJS_VERSION = "4.22.0";

/** Description of one tfjs-node flavour. */
interface NodeFlavour {
  provider: string;
  packageName: string;
  tfName: string;
  priority: number;
  description: string;
}

/** The exact command that installs `packageName` for this project. */
export function installCommand(packageName: string): string {
  const spec = `npm:${packageName}@${TFJS_VERSION}`;
  return `deno install --allow-scripts=${spec} ${spec}`;
}

function installedDir(packageName: string): string | null {
  try {
    const dir = `${Deno.cwd()}/node_modules/${packageName}`;
    const pkg = JSON.parse(Deno.readTextFileSync(`${dir}/package.json`));
    return pkg.version === TFJS_VERSION ? dir : null;
  } catch {
    return null;
  }
}

function hasBinding(dir: string): boolean {
  try {
    for (const entry of Deno.readDirSync(`${dir}/lib`)) {
      try {
        Deno.statSync(`${dir}/lib/${entry.name}/tfjs_binding.node`);
        return true;
      } catch {
        // not this folder
      }
    }
  } catch {
    // no lib folder: install script never ran
  }
  return false;
}

/** Builds the provider for one tfjs-node flavour. */
export function tfjsNodeProvider(f: NodeFlavour): BackendProvider {
  let loaded: Promise<void> | null = null;
  const load = () => {
    // Computed at run time so that `deno check` / `deno publish` never try
    // to resolve (or download) the package.
    const specifier = ["npm:", f.packageName, "@", TFJS_VERSION].join("");
    loaded ??= import(specifier).then(() => undefined);
    return loaded;
  };
  return {
    name: f.provider,
    description: f.description,
    priority: f.priority,
    probe(): Promise<ProbeResult> {
      const dir = installedDir(f.packageName);
      if (!dir) {
        return Promise.resolve({
          ok: false,
          why:
            `${f.packageName}@${TFJS_VERSION} is not installed; install it with: ${
              installCommand(f.packageName)
            }`,
        });
      }
      if (!hasBinding(dir)) {
        return Promise.resolve({
          ok: false,
          why:
            `${f.packageName} is installed without libtensorflow (its install script did not run); reinstall with: ${
              installCommand(f.packageName)
            }`,
        });
      }
      return Promise.resolve({
        ok: true,
        detail:
          `${f.provider}: ${f.packageName}@${TFJS_VERSION} (libtensorflow)`,
      });
    },
    async activate(): Promise<void> {
      try {
        await load();
      } catch (e) {
        throw new Error(
          `plugins/backends: ${f.packageName} failed to load (${
            (e as Error).message.split("\n")[0]
          }); reinstall with: ${installCommand(f.packageName)}`,
        );
      }
      await useTfBackend(f.tfName);
    },
  };
}
