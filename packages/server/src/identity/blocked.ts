/**
 * Identifier values that are not anyone's: what a template prints when a variable is unset
 * (`null`, `undefined`, `[object Object]`), placeholders of logged-out pages (`anonymous`,
 * `guest`), and the like. A message that gives one as its user id would join everyone who sent
 * it into one giant profile, so it counts as having no user id. Compared trimmed and ignoring
 * case; empty and whitespace-only values are always blocked. Each site may set its own list
 * (`blockedIds`); these are its default.
 */
export const DEFAULT_BLOCKED_IDS: readonly string[] = [
  'null',
  'undefined',
  'nil',
  'none',
  'nan',
  'false',
  'true',
  '0',
  '-1',
  'anonymous',
  'anon',
  'guest',
  'unknown',
  'user',
  'test',
  'n/a',
  'na',
  '[object object]',
  '{}',
  '[]',
  'not set',
  '(not set)',
  'default',
];

/** The most values a site's list may hold, and the longest value. */
export const MAX_BLOCKED_IDS = 500;
export const MAX_BLOCKED_ID_LENGTH = 100;

const compiled = new WeakMap<readonly string[], ReadonlySet<string>>();

/**
 * Whether `value` is blocked by `list` (a site's `blockedIds`): compiled once per list.
 *
 * @example
 * isBlockedId('  NULL ', DEFAULT_BLOCKED_IDS); // true
 */
export function isBlockedId(value: string, list: readonly string[]): boolean {
  const key = value.trim().toLowerCase();
  if (key === '') return true;
  let set = compiled.get(list);
  if (!set) compiled.set(list, (set = new Set(list.map((v) => v.trim().toLowerCase()))));
  return set.has(key);
}
