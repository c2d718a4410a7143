import type { JsonObject } from '@rapport/protocol';

/**
 * The traits form of the self-service page: which input each editable trait gets, and the
 * checked change a submitted form asks for. Field names are `trait:<name>`, and for the parts
 * of an address `trait:address.<part>`.
 */

/** The parts of an address, as the Segment spec names them, in the order a form shows them. */
export const ADDRESS_PARTS = ['street', 'postalCode', 'city', 'state', 'country'] as const;
const ADDRESS_LABELS: Record<(typeof ADDRESS_PARTS)[number], string> = {
  street: 'Street and number',
  postalCode: 'Postal code',
  city: 'City',
  state: 'State or region',
  country: 'Country',
};
export const MAX_TEXT_LENGTH = 500;
export const MAX_ADDRESS_PART_LENGTH = 200;
/** Fields one form may hold: every editable trait with all of an address's parts fits well within it. */
const MAX_FIELDS = 300;
/** Line breaks and tabs are text; other control characters are not. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const KNOWN_LABELS: Record<string, string> = {
  firstName: 'First name',
  lastName: 'Last name',
  name: 'Name',
  phone: 'Phone',
  address: 'Address',
  preferences: 'Preferences',
  birthday: 'Birthday',
  company: 'Company',
  title: 'Title',
  website: 'Website',
};

/** How a trait is edited: a line of text, a longer text, yes or no, an address, or not here (a value the page cannot show as a field). */
export type TraitInput =
  | { kind: 'text'; multiline: boolean; type: 'text' | 'tel'; value: string; numeric: boolean }
  | { kind: 'boolean'; value: boolean | null }
  | { kind: 'address'; parts: Array<{ part: (typeof ADDRESS_PARTS)[number]; label: string; value: string }> }
  | { kind: 'fixed' };

/** "firstName" → "First name"; names the page does not know are split at capitals and underscores. */
export function traitLabel(name: string): string {
  if (KNOWN_LABELS[name]) return KNOWN_LABELS[name];
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The input of an editable trait given what the profile holds: an object is edited as an address
 * only under `address`, and other lists and objects are shown but not editable (a text field
 * would flatten them).
 *
 * @example
 * traitInput('phone', '+49 30 1234'); // { kind: 'text', type: 'tel', value: '+49 30 1234', ... }
 */
export function traitInput(name: string, value: unknown): TraitInput {
  if (name === 'address' && (value === undefined || value === null || isPlainObject(value))) {
    const held = (value ?? {}) as Record<string, unknown>;
    return { kind: 'address', parts: ADDRESS_PARTS.map((part) => ({ part, label: ADDRESS_LABELS[part], value: textOf(held[part]) })) };
  }
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'number') {
    return {
      kind: 'text',
      multiline: name === 'preferences' || (typeof value === 'string' && value.includes('\n')),
      type: name === 'phone' ? 'tel' : 'text',
      value: textOf(value),
      numeric: typeof value === 'number',
    };
  }
  return { kind: 'fixed' };
}

/** A form field at fault: the page shows it beside the field, the answer is a 400. */
export class FormProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * The traits a submitted form changes: only editable traits, each checked for its input kind
 * and length; values equal to what the profile holds are left out, an emptied field clears the
 * trait (null). Throws `FormProblem` naming the first field at fault.
 *
 * @example
 * traitChanges(new URLSearchParams('trait:firstName=Ada'), ['firstName'], { firstName: 'Ad' }); // { firstName: 'Ada' }
 */
export function traitChanges(form: URLSearchParams, editable: readonly string[], traits: Record<string, unknown>): JsonObject {
  const fields = [...form.keys()];
  if (fields.length > MAX_FIELDS) throw new FormProblem('form', `has more than ${MAX_FIELDS} fields`);
  const given = new Map<string, Map<string, string> | string>();
  for (const field of new Set(fields)) {
    const values = form.getAll(field);
    if (values.length > 1) throw new FormProblem(field, 'is given more than once');
    const match = /^trait:([^.]+)(?:\.(.+))?$/.exec(field);
    if (!match) throw new FormProblem(field, 'is not a field of this form');
    const [, name, part] = match;
    if (!editable.includes(name)) throw new FormProblem(field, `"${name}" is not something you can change here`);
    const input = traitInput(name, traits[name]);
    if (input.kind === 'fixed') throw new FormProblem(field, `"${name}" cannot be changed on this page`);
    if ((input.kind === 'address') !== (part !== undefined) || (part !== undefined && !(ADDRESS_PARTS as readonly string[]).includes(part))) {
      throw new FormProblem(field, 'is not a field of this form');
    }
    const text = values[0].trim();
    const max = part ? MAX_ADDRESS_PART_LENGTH : MAX_TEXT_LENGTH;
    if (text.length > max) throw new FormProblem(field, `must have at most ${max} characters`);
    if (CONTROL.test(text) || (part && /[\r\n]/.test(text))) throw new FormProblem(field, 'contains characters that are not text');
    if (part) {
      const parts = (given.get(name) as Map<string, string> | undefined) ?? new Map<string, string>();
      parts.set(part, text);
      given.set(name, parts);
    } else given.set(name, text);
  }

  const changes: JsonObject = {};
  for (const [name, submitted] of given) {
    const held = traits[name];
    const next = typeof submitted === 'string' ? scalarOf(name, submitted, held) : addressOf(submitted, held);
    if (!sameValue(next, held)) changes[name] = next;
  }
  return changes;
}

function scalarOf(name: string, text: string, held: unknown): unknown {
  const input = traitInput(name, held);
  if (input.kind === 'boolean') {
    if (text === 'yes') return true;
    if (text === 'no') return false;
    throw new FormProblem(`trait:${name}`, 'must be yes or no');
  }
  if (text === '') return null;
  // A number stays a number when what was typed is one, so that rules comparing it still work.
  if (input.kind === 'text' && input.numeric && /^-?\d+(\.\d+)?$/.test(text) && Number.isFinite(Number(text))) return Number(text);
  return text.replace(/\r\n?/g, '\n');
}

/** The submitted parts over what the address held (parts the form does not show are kept); all empty clears it. */
function addressOf(parts: Map<string, string>, held: unknown): unknown {
  const address: JsonObject = isPlainObject(held) ? { ...(held as JsonObject) } : {};
  for (const [part, text] of parts) {
    if (text === '') delete address[part];
    else address[part] = text;
  }
  return Object.keys(address).length ? address : null;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const textOf = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');

/** Whether a change would leave the trait as it is (absent and null are the same to a person). */
function sameValue(next: unknown, held: unknown): boolean {
  if ((next === null || next === undefined) && (held === null || held === undefined)) return true;
  return JSON.stringify(next) === JSON.stringify(held);
}
