import { MAX_MESSAGE_BYTES } from '@rapport/protocol';
import type { CollectResponse, Message } from '@rapport/protocol';
import {
  FLUSH_AT,
  FLUSH_INTERVAL_MS,
  MAX_ATTEMPTS,
  MAX_QUEUE,
  MAX_REQUEST_BYTES,
  backoff,
  isFinal,
  retryAfter,
} from './policy';
import { withTimezone } from './context';
import type { Store } from './storage';
import type { Core, DeliveryError } from './types';

/** The queue of messages and how they reach the server; the policy lives in policy.ts. */
export interface Delivery {
  push(message: Message): void;
  /** Sends until every message queued at the call has been tried (sent, or given to the backoff). */
  flush(): Promise<void>;
  /** Deletes every waiting message (opt-out). */
  clear(): void;
}

export interface DeliveryConfig extends Pick<Core, 'active' | 'report' | 'guard'> {
  /** `${host}/v1/batch` */
  url: string;
  writeKey: string;
  store: Store;
}

// UTF-8 length without allocating (a Blob per message was most of the main-thread cost of track):
// 1 byte below U+0080, 2 below U+0800, 4 for a surrogate pair (2 + 2 here), else 3.
const bytes = (text: string) => {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) n += c > 0x7ff && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
};

/** An error for `onError` about a response of the server. */
export const deliveryError = (status: number, details?: unknown): DeliveryError =>
  Object.assign(new Error('rapport: ' + status), { status, details });

export function createDelivery({ url, writeKey, store, active, report, guard }: DeliveryConfig): Delivery {
  // One queue per write key: two sites on one domain must not send each other's messages.
  const key = 'q_' + writeKey;
  let queue: Message[] = [];
  try {
    const saved: unknown = JSON.parse(store.get(key) || '[]');
    if (Array.isArray(saved)) queue = saved;
  } catch {}
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending: Message[] = [];
  let inflight: Promise<void> | undefined;
  let waiting = false;
  // Tries of the batch at the head of the queue, for the backoff, and its 5xx answers, which
  // alone count toward giving it up.
  let attempts = 0;
  let errors = 0;
  let saving: Promise<void> | undefined;

  const write = () => store.set(key, queue.length ? JSON.stringify(queue) : undefined);
  // The queue is written whole, so once per task however many messages it took: written for
  // each of them, localStorage.setItem was the largest single cost of track().
  const save = () => {
    saving =
      saving ||
      Promise.resolve().then(() => {
        saving = undefined;
        write();
      });
  };
  const remove = (sent: Message[]) => {
    queue = queue.filter((m) => sent.indexOf(m) < 0);
    save();
  };
  const body = (batch: Message[]) => JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey });
  // The head of `list` that fits in one request (at least one message: each is under 32 KB).
  const take = (list: Message[]) => {
    let n = 0;
    for (let size = 100; n < list.length; n++) {
      withTimezone(list[n]);
      size += bytes(JSON.stringify(list[n])) + 1;
      if (n && size > MAX_REQUEST_BYTES) break;
    }
    return list.slice(0, n);
  };
  const schedule = (delay: number) => {
    if (!timer || !delay) {
      clearTimeout(timer);
      timer = setTimeout(flush, delay);
    }
  };
  const done = (batch: Message[]) => {
    remove(batch);
    attempts = errors = 0;
  };
  const retry = (batch: Message[], res?: Response) => {
    attempts++;
    if (res && res.status != 429 && ++errors >= MAX_ATTEMPTS) {
      done(batch);
      return report(deliveryError(res.status));
    }
    waiting = true;
    const wait = retryAfter(res ? res.headers.get('Retry-After') : null);
    setTimeout(
      () => {
        waiting = false;
        flush();
      },
      // Not `??`: compiled for ES2019 it takes twice the bytes.
      wait == null ? backoff(attempts) : wait,
    );
  };

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (inflight || waiting || !active() || !queue.length) return inflight || Promise.resolve();
    const batch = (sending = take(queue));
    return (inflight = Promise.resolve()
      // A string body goes as text/plain;charset=UTF-8: no CORS preflight. keepalive lets the
      // request outlive the page, as long as the body stays under 64 KiB (see take).
      .then(() => fetch(url, { method: 'POST', body: body(batch), keepalive: true }))
      .then(
        (res) => {
          if (!res.ok && !isFinal(res.status)) return retry(batch, res);
          done(batch);
          return res.json().then(
            (answer: Partial<CollectResponse>) => {
              if (!res.ok || (answer.rejected && answer.rejected.length))
                report(deliveryError(res.status, answer));
            },
            () => res.ok || report(deliveryError(res.status)),
          );
        },
        (error) => {
          report(error);
          retry(batch);
        },
      )
      .catch(report)
      .then(() => {
        inflight = undefined;
        sending = [];
        if (queue.length && !waiting) schedule(0);
      }));
  };

  // The page may be going away: hand what waits to the browser, which sends beacons even after
  // the page is gone. Messages of a fetch in flight are not sent twice. While backing off the
  // queue stays in storage for the next page instead: a beacon's failure would go unnoticed.
  const beacon = () => {
    if (waiting || !active()) return;
    let rest = queue.filter((m) => sending.indexOf(m) < 0);
    while (rest.length) {
      const batch = take(rest);
      if (!navigator.sendBeacon(url, new Blob([body(batch)], { type: 'text/plain' }))) break;
      remove(batch);
      rest = rest.slice(batch.length);
    }
  };
  addEventListener('pagehide', guard(beacon));
  document.addEventListener(
    'visibilitychange',
    guard(() => document.visibilityState == 'hidden' && beacon()),
  );
  if (queue.length) schedule(FLUSH_INTERVAL_MS);

  return {
    push(message) {
      const json = JSON.stringify(message);
      if (bytes(json) > MAX_MESSAGE_BYTES) return report(deliveryError(413, message));
      // A copy: the page may change its objects after handing them over.
      const copy: Message = JSON.parse(json);
      queue.push(copy);
      // The newest message carries the count of what was dropped (and what the dropped ones
      // carried), so the server learns about the loss unless everything is lost.
      while (queue.length > MAX_QUEUE) {
        const old = queue.shift()!;
        const context = (copy.context = copy.context || {});
        context.dropped =
          ((context.dropped as number) || 0) + 1 + (((old.context && old.context.dropped) as number) || 0);
      }
      save();
      schedule(queue.length < FLUSH_AT ? FLUSH_INTERVAL_MS : 0);
    },
    // One flush sends one batch, or waits for the one in flight: loop until the newest message
    // of the moment has been tried, so that `await rapport.flush()` means "sent".
    flush() {
      const last = queue[queue.length - 1];
      const step = (): Promise<void> =>
        flush().then(() => (last && queue.indexOf(last) >= 0 && !waiting && active() ? step() : undefined));
      return step();
    },
    clear() {
      queue = [];
      // At once: opt-out and withdrawn consent stop persisting right after.
      write();
    },
  };
}
