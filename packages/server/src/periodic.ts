/**
 * Runs `work` soon after start (`firstMs`) and then every `everyMs`, never two at once (a run
 * still going when the next is due makes that one a no-op), without keeping the process alive.
 * A failure is logged with `what` and tried again at the next turn. Returns a function that stops it.
 *
 * @example
 * const stop = everyInterval(() => runRetention(store, sites.list(), node), { firstMs: 10_000, everyMs: 3_600_000, what: 'retention' });
 */
export function everyInterval(work: () => Promise<void>, options: { firstMs: number; everyMs: number; what: string }): () => void {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= work()
      .catch((error) => console.error(`rapport: ${options.what} failed; it runs again at its next turn`, error))
      .finally(() => (running = null));
  };
  const first = setTimeout(run, options.firstMs);
  const timer = setInterval(run, options.everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
