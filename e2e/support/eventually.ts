/**
 * Reads until `done` holds, or until `ms` have passed, and returns the last value read: what the
 * browser sends (batches, beacons on page hide) arrives when the browser gets to it. The caller
 * asserts on the value, so a timeout fails with what was there.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
