/**
 * A model as stored (`StoredModel.data`): JSON text. Reading one back checks its whole shape, so
 * serving never trips over a model written by another version or cut short.
 */

import { MODEL_VERSION } from './train.js';
import type { Association, Model, ModelStats, Neighbour, Ranked } from './types.js';

type Check = (value: unknown) => boolean;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isString = (value: unknown): value is string => typeof value === 'string';

/** An object whose listed fields pass their checks (other fields are allowed: models may grow). */
const shape =
  (fields: Record<string, Check>): Check =>
  (value) =>
    isObject(value) && Object.entries(fields).every(([key, check]) => check(value[key]));

const arrayOf =
  (check: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(check);

const recordOf =
  (check: Check): Check =>
  (value) =>
    isObject(value) && Object.values(value).every(check);

const isAssociation: Check = shape({ productId: isString, count: isNumber, support: isNumber, confidence: isNumber, lift: isNumber } satisfies Record<keyof Association, Check>);
const isNeighbour: Check = shape({ productId: isString, score: isNumber, count: isNumber } satisfies Record<keyof Neighbour, Check>);
const isRanked: Check = shape({ productId: isString, score: isNumber } satisfies Record<keyof Ranked, Check>);
const isStats: Check = shape({
  interactions: isNumber,
  orders: isNumber,
  sessions: isNumber,
  people: isNumber,
  products: isNumber,
  coverage: shape({ boughtTogether: isNumber, viewedTogether: isNumber, similar: isNumber }),
  trainingMs: isNumber,
} satisfies Record<keyof ModelStats, Check>);

const isModel: Check = shape({
  version: (value) => value === MODEL_VERSION,
  trainedAt: isNumber,
  stats: isStats,
  boughtTogether: recordOf(arrayOf(isAssociation)),
  viewedTogether: recordOf(arrayOf(isNeighbour)),
  similar: recordOf(arrayOf(isNeighbour)),
  trending: arrayOf(isRanked),
  popularByCategory: recordOf(arrayOf(isRanked)),
  categories: recordOf(isString),
} satisfies Record<keyof Model, Check>);

/**
 * A model as JSON text, for `StoredModel.data`.
 *
 * @example
 * await store.saveModel(siteId, serializeModel(trainModel(interactions, { now: Date.now() })));
 */
export function serializeModel(model: Model): string {
  return JSON.stringify(model);
}

/**
 * The model of `json`, or null when it is not JSON, is of another version, or misses or mistypes
 * any field: the caller then serves without a model (or retrains) instead of failing a request.
 *
 * @example
 * parseModel(serializeModel(model)); // a model equal to `model`
 * parseModel('{"version":2}'); // null
 */
export function parseModel(json: string): Model | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  return isModel(value) ? (value as Model) : null;
}
