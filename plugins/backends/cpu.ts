/**
 * `cpu`: tfjs' pure-JavaScript backend. Slow; it is the reference that the
 * fast backends are checked against.
 */
import "@tensorflow/tfjs-backend-cpu";
// tf.grads needs the gradient registry filled.
import "../../core/gradients.ts";
import type { BackendProvider, ProbeResult } from "../../core/backend.ts";
import { useTfBackend } from "./use.ts";

/** The `cpu` backend provider (pure JavaScript reference). */
export const cpuBackend: BackendProvider = {
  name: "cpu",
  description:
    "pure JavaScript reference; needs nothing; for checking results, too slow to train",
  priority: 0,
  probe(): Promise<ProbeResult> {
    return Promise.resolve({
      ok: true,
      detail: "cpu: pure JavaScript reference",
    });
  },
  activate(): Promise<void> {
    return useTfBackend("cpu");
  },
};
