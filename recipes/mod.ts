/**
 * Built-in recipes.
 *
 * @module
 */
import type { Recipe } from "../core/registry.ts";
import { classifyRecipe } from "./classify.ts";
import { cocoSelfTrainRecipe } from "./coco_selftrain.ts";
import { cocoSupervisedRecipe } from "./coco_supervised.ts";
import { pascalSelfTrainRecipe } from "./pascal_selftrain.ts";
import { pascalSupervisedRecipe } from "./pascal_supervised.ts";
import { pretrainSimClrRecipe } from "./pretrain_simclr.ts";
import { pretrainSupervisedRecipe } from "./pretrain_supervised.ts";

export { classifyRecipe } from "./classify.ts";
export { cocoSelfTrainRecipe } from "./coco_selftrain.ts";
export { cocoSupervisedRecipe } from "./coco_supervised.ts";
export { pascalSelfTrainRecipe } from "./pascal_selftrain.ts";
export { pascalSupervisedRecipe } from "./pascal_supervised.ts";
export { pretrainSimClrRecipe } from "./pretrain_simclr.ts";
export { pretrainSupervisedRecipe } from "./pretrain_supervised.ts";

/** Every built-in recipe. */
export const builtinRecipes: readonly Recipe[] = [
  cocoSelfTrainRecipe,
  cocoSupervisedRecipe,
  classifyRecipe,
  pascalSelfTrainRecipe,
  pascalSupervisedRecipe,
  pretrainSupervisedRecipe,
  pretrainSimClrRecipe,
];
