/**
 * Pre-training and initialisation: backbone checkpoints with a manifest
 * (architecture, config, preprocessing, provenance), initialising and
 * freezing a backbone from one, and importing torchvision weights.
 *
 * @module
 */
export {
  BACKBONE_FORMAT,
  type BackboneCheckpoint,
  type BackboneManifest,
  type BackbonePreprocessing,
  checkNormalization,
  disposeBackboneCheckpoint,
  HEAD_PREFIX,
  MANIFEST_FILE,
  normalizationOf,
  productPreprocessing,
  readBackboneCheckpoint,
  saveBackboneCheckpoint,
  validateManifest,
} from "./checkpoint.ts";
export {
  checkpointPath,
  describeMisfit,
  initBackbone,
  type InitBackboneOptions,
  initOverrides,
} from "./init.ts";
export { type BackboneStages, backboneStages, freezeStages } from "./stages.ts";
export {
  parseSafetensors,
  readSafetensors,
  type SafeTensor,
} from "./safetensors.ts";
export {
  type ImportedBackbone,
  importTorchvisionEfficientNet,
  TORCHVISION_EFFICIENTNET,
  type TorchvisionImportOptions,
} from "./torchvision.ts";
export {
  checkpointBatch,
  type CheckpointClassifier,
  checkpointClassifier,
  prepareImage,
} from "./classifier.ts";
