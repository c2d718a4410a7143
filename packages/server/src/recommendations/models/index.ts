/**
 * The recommendation models: train a `Model` from interactions, answer requests from it, and
 * store it as JSON.
 *
 * @example
 * const model = trainModel(interactions, { ...DEFAULT_TRAIN_OPTIONS, now: Date.now() });
 * const saved = serializeModel(model);
 * const items = recommend(parseModel(saved)!, { strategy: 'trending', history: [], limit: 4, ... });
 */

export * from './types.js';
export { ModelTrainer, trainModel, resolveTrainOptions, interactionWeight, MODEL_VERSION, MIN_COMMON_PEOPLE, type TrainSettings } from './train.js';
export { recommend } from './recommend.js';
export { parseModel, serializeModel } from './json.js';
