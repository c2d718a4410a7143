/**
 * The script-tag build, served as /sdk.js:
 *
 *   <script async src="https://HOST/sdk.js" data-write-key="WRITE_KEY"></script>
 *
 * Options come from the tag's data-* attributes; the server is the origin the script came from
 * unless data-host names another. Calls queued by the async snippet's stub are replayed in order.
 */
import { createRapport } from './rapport';
import type { Rapport, RapportOptions } from './types';

/** The snippet's stand-in for `window.rapport` until this file has loaded. */
interface Stub {
  q?: [keyof Rapport, ArrayLike<unknown>][];
  /** Options that attributes cannot carry, such as `onError`. */
  options?: Partial<RapportOptions>;
}

try {
  const w = window as Window & { rapport?: Stub | Rapport };
  const stub = w.rapport as Stub | undefined;
  // Loaded twice: the first copy stays.
  if (!stub || stub.q) {
    const script = (document.currentScript ||
      document.querySelector('script[data-write-key]')) as HTMLScriptElement;
    const options: Record<string, unknown> = { ...(stub && stub.options) };
    const data = script.dataset;
    for (const key in data) {
      const value = data[key];
      options[key] = value == 'false' ? false : value == 'true' || value == '' ? true : value;
    }
    options.host = options.host || new URL(script.src).origin;
    if (options.writeKey) {
      // Attribute values are strings; booleans are converted above and the one number
      // (slotTimeout) is read with a unary plus where it is used.
      const rapport = createRapport(options as unknown as RapportOptions);
      w.rapport = rapport;
      // Each queued call on its own: one malformed entry must not lose the calls after it.
      ((stub && stub.q) || []).forEach((call) => {
        try {
          const fn = rapport[call[0]] as (...args: unknown[]) => unknown;
          if (typeof fn == 'function') fn.apply(rapport, call[1] as unknown[]);
        } catch {}
      });
    }
  }
} catch {}
