import { invalidField } from '../http/input.js';
import { DEFAULT_RECOMMENDATIONS, type RecommendationSettings } from '../store/types.js';

const FIELDS = ['trainEveryMinutes', 'lookbackDays', 'boughtAgainCategories', 'attributionDays'] as const;
const MAX_CATEGORIES = 200;
const MAX_CATEGORY_LENGTH = 200;

/**
 * A site's `recommendations` setting from an API body, over `current`: the fields given replace
 * theirs, `null` restores the defaults, and every refusal is a 400 naming the field.
 *
 * @example
 * recommendationSettingsOf({ trainEveryMinutes: 15, boughtAgainCategories: ['coffee'] }, site.settings.recommendations);
 */
export function recommendationSettingsOf(value: unknown, current: RecommendationSettings = DEFAULT_RECOMMENDATIONS): RecommendationSettings {
  if (value === null) return { ...DEFAULT_RECOMMENDATIONS };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidField('recommendations', `must be an object with some of ${FIELDS.join(', ')}, or null for the defaults`);
  }
  const body = value as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw invalidField(`recommendations.${key}`, `unknown field; expected one of ${FIELDS.join(', ')}`);
  }
  const out: RecommendationSettings = { ...DEFAULT_RECOMMENDATIONS, ...current };
  const integer = (field: (typeof FIELDS)[number], min: number, max: number) => {
    const v = body[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalidField(`recommendations.${field}`, `must be a whole number from ${min} to ${max}`);
    return v;
  };
  // A training reads every event of its lookback: at least 5 minutes apart, so that a busy site
  // is not retrained back to back.
  const every = integer('trainEveryMinutes', 0, 7 * 24 * 60);
  if (every !== undefined) {
    if (every > 0 && every < 5) throw invalidField('recommendations.trainEveryMinutes', 'must be 0 (only on request) or at least 5');
    out.trainEveryMinutes = every;
  }
  out.lookbackDays = integer('lookbackDays', 1, 3650) ?? out.lookbackDays;
  out.attributionDays = integer('attributionDays', 1, 90) ?? out.attributionDays;
  if (body.boughtAgainCategories !== undefined) {
    const list = body.boughtAgainCategories;
    if (!Array.isArray(list) || list.length > MAX_CATEGORIES) throw invalidField('recommendations.boughtAgainCategories', `must be a list of at most ${MAX_CATEGORIES} categories`);
    out.boughtAgainCategories = [
      ...new Set(
        list.map((c, i) => {
          if (typeof c !== 'string' || !c.trim() || c.length > MAX_CATEGORY_LENGTH) {
            throw invalidField(`recommendations.boughtAgainCategories[${i}]`, `must be a non-empty string of at most ${MAX_CATEGORY_LENGTH} characters`);
          }
          return c.trim();
        }),
      ),
    ];
  }
  return out;
}
