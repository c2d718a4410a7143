import { randomBytes } from 'node:crypto';
import { customAlphabet } from 'nanoid';

// Lower-case letters and digits: ids survive case-insensitive contexts and read well in URLs.
const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A random id of 16 characters (about 82 bits). */
export const newId = customAlphabet(alphabet, 16);

const keyBody = customAlphabet(alphabet, 32);

/** A key with a readable prefix (`wk_`, `sk_`...) and 32 random characters (about 165 bits). */
export const newKey = (prefix: string) => `${prefix}_${keyBody()}`;

/** A secret token for people (admin token, sessions): 32 random bytes, base64url. */
export const newToken = () => randomBytes(32).toString('base64url');
