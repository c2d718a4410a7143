import Cookies from 'js-cookie';

/** Prefix of the cookie and of every localStorage key the SDK writes. */
export const PREFIX = 'rapport_';
/** The key kept in a cookie (and copied to localStorage): the anonymous id. */
export const ID = 'id';

/**
 * Key-value storage that never throws and can be held in memory only.
 *
 * Reads fall back from memory to the cookie to localStorage, so a cookie that was cleared is
 * restored from its localStorage copy. Writes always land in memory and reach the browser only
 * while `persist(true)`: consent mode and privacy signals keep everything in memory.
 */
export interface Store {
  get(key: string): string | undefined;
  /** `undefined` deletes. `force` writes through even while not persisting (the opt-out flag). */
  set(key: string, value: string | undefined, force?: boolean): void;
  /** Turns writing through on or off; turning it on writes out what memory holds. */
  persist(on: boolean): void;
  /** Deletes the cookie and every key of ours from localStorage and memory. */
  clear(): void;
}

/** `memoryOnly` (cookieless mode): the browser's storage is never read or written. */
export function createStore(cookieDomain?: string, memoryOnly?: boolean): Store {
  let mem: Record<string, string | undefined> = {};
  let on = false;
  // localStorage can be missing, throw on access (blocked storage, sandboxed frames) or throw
  // on write (quota), and document.cookie can throw too: every touch goes through here, each on
  // its own, so that blocked storage does not hide a working cookie.
  const attempt = <T>(use: () => T): T | undefined => {
    try {
      return use();
    } catch {}
  };
  const write = (key: string, value: string | undefined) => {
    const name = PREFIX + key;
    if (key == ID) {
      // js-cookie skips attributes that are undefined or false (domain, secure).
      const attributes = {
        domain: cookieDomain,
        sameSite: 'Lax' as const,
        secure: location.protocol == 'https:',
      };
      attempt(() =>
        value ? Cookies.set(name, value, { ...attributes, expires: 365 }) : Cookies.remove(name, attributes),
      );
    }
    attempt(() => (value ? localStorage.setItem(name, value) : localStorage.removeItem(name)));
  };

  return {
    get: (key) =>
      key in mem || memoryOnly
        ? mem[key]
        : (key == ID && attempt(() => Cookies.get(PREFIX + ID))) ||
          attempt(() => localStorage.getItem(PREFIX + key)) ||
          undefined,
    set(key, value, force) {
      mem[key] = value;
      if ((on || force) && !memoryOnly) write(key, value);
    },
    persist(persist) {
      if ((on = persist && !memoryOnly)) for (const key in mem) write(key, mem[key]);
    },
    clear() {
      if (!memoryOnly) {
        write(ID, undefined);
        attempt(() => {
          for (let i = localStorage.length; i--; ) {
            const name = localStorage.key(i);
            if (name && !name.indexOf(PREFIX)) localStorage.removeItem(name);
          }
        });
      }
      mem = {};
    },
  };
}
