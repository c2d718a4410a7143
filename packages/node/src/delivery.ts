import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, type BatchRequest, type Message } from '@rapport/protocol';

/** What one `flush()` did. */
export interface FlushResult {
  /** Messages the server acknowledged. */
  sent: number;
  /** Messages of batches the server refused with a 4xx (invalid, unknown key): retrying cannot help. */
  rejected: number;
  /** Messages given up on after the last retry; `onError` has the reason. */
  failed: number;
}

export interface DeliveryOptions {
  url: string;
  headers: Record<string, string>;
  /** Added to the body of every batch when calls carry the write key rather than the secret. */
  writeKey?: string;
  fetch: typeof fetch;
  /** Tries per batch, the first included. */
  attempts: number;
  /** Milliseconds per request. */
  timeout: number;
  onError: (error: unknown) => void;
}

/** Statuses worth another try: the server was busy, away or rate-limiting. */
const RETRY = (status: number) => status === 408 || status === 429 || status >= 500;
/** Longest pause between tries: a serverless function has a deadline of its own. */
const MAX_BACKOFF_MS = 2_000;

/**
 * The queue of messages and its delivery to `/v1/batch`. Each message keeps its `messageId`
 * across retries, so a batch the server stored before its answer was lost is stored once.
 * `flush()` resolves when every message queued before it is delivered or given up on: in a
 * serverless function, await it before returning, or the events die with the instance.
 */
export class Delivery {
  private queue: Message[] = [];
  /** The JSON size of each queued message, measured once when it is queued. */
  private sizes: number[] = [];
  private running: Promise<FlushResult> = Promise.resolve({ sent: 0, rejected: 0, failed: 0 });

  constructor(private readonly options: DeliveryOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  /** Queues one message; false (and onError) when it is larger than the server takes. */
  push(message: Message): boolean {
    const size = Buffer.byteLength(JSON.stringify(message));
    if (size > MAX_MESSAGE_BYTES) {
      this.options.onError(new RangeError(`rapport: a ${message.type} message is over ${MAX_MESSAGE_BYTES} bytes and was dropped`));
      return false;
    }
    this.queue.push(message);
    this.sizes.push(size);
    return true;
  }

  flush(): Promise<FlushResult> {
    // One flush at a time, in order: a second waits for the first and then sends what is left.
    const next = this.running.then(() => this.sendAll());
    this.running = next;
    return next;
  }

  private async sendAll(): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, rejected: 0, failed: 0 };
    while (this.queue.length) {
      const batch = this.takeBatch();
      result[await this.send(batch)] += batch.length;
    }
    return result;
  }

  /** As many queued messages as fit one request. */
  private takeBatch(): Message[] {
    let bytes = 200;
    let count = 0;
    for (const size of this.sizes) {
      bytes += size + 1;
      if (count > 0 && (bytes > MAX_BATCH_BYTES || count >= 500)) break;
      count++;
    }
    this.sizes.splice(0, count);
    return this.queue.splice(0, count);
  }

  private async send(batch: Message[]): Promise<keyof FlushResult> {
    const body: BatchRequest = { batch, sentAt: new Date().toISOString(), ...(this.options.writeKey ? { writeKey: this.options.writeKey } : {}) };
    let error: unknown;
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      let wait = Math.min(MAX_BACKOFF_MS, 100 * 4 ** (attempt - 1));
      try {
        const res = await this.options.fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.options.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeout),
        });
        const text = await res.text();
        if (res.ok) return 'sent';
        error = Object.assign(new Error(`rapport: /v1/batch answered ${res.status}: ${text.slice(0, 500)}`), { status: res.status });
        if (!RETRY(res.status)) {
          // A 4xx is about the messages themselves: the same batch would fail the same way.
          this.options.onError(error);
          return 'rejected';
        }
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) wait = Math.min(MAX_BACKOFF_MS, after * 1000);
      } catch (caught) {
        error = caught;
      }
      if (attempt < this.options.attempts) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.options.onError(error);
    return 'failed';
  }
}
