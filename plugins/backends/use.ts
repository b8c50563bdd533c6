/** Selecting a tfjs backend, shared by the backend plugins. */
import * as tf from "@tensorflow/tfjs-core";

/** Activates a tfjs backend that is already registered, by its tfjs name. */
export async function useTfBackend(tfName: string): Promise<void> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tfjs could not initialise backend "${tfName}"`);
  await tf.ready();
}
