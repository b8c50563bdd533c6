/**
 * Compute backends. Each backend is a provider that can say whether it can
 * run on this machine (and why not) before anything is loaded, and that
 * activates itself on demand, so optional heavy dependencies (tfjs-node,
 * system BLAS) are only imported when chosen.
 */

/**
 * The answer of a backend probe: usable, or why not. `notForAuto` marks a
 * backend that runs when asked for by name but that `auto` passes over
 * (e.g. WebGPU on a software adapter), with the reason.
 */
export type ProbeResult = { ok: true; detail: string; notForAuto?: string } | {
  ok: false;
  why: string;
};

/** A compute backend that can be chosen with `--backend NAME`. */
export interface BackendProvider {
  /** Name used on the command line, e.g. `wasm`. */
  readonly name: string;
  /** One line: what it needs and when to use it. */
  readonly description: string;
  /** Rank for `auto`: higher is tried first. */
  readonly priority: number;
  /** Checks without side effects that the backend can run here. */
  probe(): Promise<ProbeResult>;
  /** Loads, registers and selects the backend in tfjs. */
  activate(): Promise<void>;
}

/** The backend a run ended up on, and the one-line reason. */
export interface BackendChoice {
  /** Provider name. */
  name: string;
  /** Human-readable reason, printed at the start of a run. */
  why: string;
}

/**
 * Chooses and activates a backend. `auto` tries providers by priority and
 * takes the first whose probe succeeds; a named backend that cannot run is
 * an error that says why.
 */
export async function selectBackend(
  providers: readonly BackendProvider[],
  requested: string,
): Promise<BackendChoice> {
  if (requested !== "auto") {
    const provider = providers.find((p) => p.name === requested);
    if (!provider) {
      throw new Error(
        `unknown backend "${requested}"; available: auto, ${
          providers.map((p) => p.name).join(", ")
        }`,
      );
    }
    const probe = await provider.probe();
    if (!probe.ok) {
      throw new Error(`backend "${requested}" cannot run: ${probe.why}`);
    }
    await provider.activate();
    return { name: provider.name, why: `requested; ${probe.detail}` };
  }
  const skipped: string[] = [];
  const ranked = [...providers].sort((a, b) => b.priority - a.priority);
  for (const provider of ranked) {
    const probe = await provider.probe();
    if (!probe.ok || probe.notForAuto !== undefined) {
      const why = probe.ok ? probe.notForAuto! : probe.why;
      // Keep the start-up line short: the first clause of the reason.
      skipped.push(`${provider.name}: ${why.split(";")[0]}`);
      continue;
    }
    await provider.activate();
    const because = skipped.length ? ` (skipped ${skipped.join("; ")})` : "";
    return { name: provider.name, why: `auto: ${probe.detail}${because}` };
  }
  throw new Error(`no backend can run here: ${skipped.join("; ")}`);
}
