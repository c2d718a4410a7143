/**
 * Whether a visitor is in the control group of an offer. The answer is a hash of the visitor's
 * stable key and the offer id, so it never changes for that pair, and over many visitors the
 * share in control matches `controlPercent`.
 *
 * @example
 * inControlGroup('visitor-1', 'offer-9', 10) // the same boolean on every call
 */
export function inControlGroup(visitorKey: string, offerId: string, controlPercent: number): boolean {
  if (controlPercent <= 0) return false;
  if (controlPercent >= 100) return true;
  return bucketOf(`${offerId}:${visitorKey}`) < controlPercent * 100;
}

/** A number from 0 to 9,999 spread evenly over keys (FNV-1a, 32 bits, with a final avalanche). */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV's low bits are weak for short keys; mixing (murmur3's finalizer) spreads them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 10_000;
}
