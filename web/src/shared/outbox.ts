// Actions taken offline (or whose request failed on the way) wait here and are sent again, in the order they
// were taken, when the phone is back online. Each carries its idempotency key from the first attempt, so a
// request that did reach the API before the connection dropped is not applied twice. An action the API refuses
// (STALE, FORBIDDEN, ...) is kept as refused and shown to the person; it is never retried blindly.
import { ApiError, newRequestId } from './api';
import { type OutboxEntry, outboxAll, outboxDelete, outboxPut } from './store';

/** Sends one action; throws ApiError when refused, NetworkError (or anything else) to try again later. */
export type Handler = (payload: unknown, requestId: string) => Promise<void>;

const RETRY_MS = 20_000;
const handlers = new Map<string, Handler>();
const listeners = new Set<(entries: OutboxEntry[]) => void>();
let flushing: Promise<void> | null = null;
let again = false;
let timer: ReturnType<typeof setTimeout> | null = null;

/** Codes that say "not now" rather than "no": the action stays pending. */
const TRANSIENT = new Set(['RATE_LIMITED', 'UNAUTHENTICATED', 'INTERNAL_SERVER_ERROR']);

export function handle(kind: string, handler: Handler): void {
  handlers.set(kind, handler);
}

export function watchOutbox(listener: (entries: OutboxEntry[]) => void): () => void {
  listeners.add(listener);
  void outboxAll().then(listener);
  return () => listeners.delete(listener);
}

async function changed(): Promise<void> {
  const entries = await outboxAll();
  for (const listener of listeners) listener(entries);
}

/** Queues an action and tries to send it at once; resolves when it is stored (not when it is sent). */
export async function enqueue(kind: string, label: string, payload: unknown): Promise<string> {
  const id = newRequestId();
  await outboxPut({ id, kind, label, payload, createdAt: Date.now(), attempts: 0, state: 'pending', error: null });
  await changed();
  void flush();
  return id;
}

export async function dismiss(id: string): Promise<void> {
  await outboxDelete(id);
  await changed();
}

/**
 * Sends what is pending, oldest first; stops at the first network failure and tries again later. An action
 * queued while a round is under way is sent by another round right after it.
 */
export function flush(): Promise<void> {
  if (flushing) {
    again = true;
    return flushing;
  }
  flushing = (async () => {
    do {
      again = false;
      if (!(await send())) return;
    } while (again);
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

/** One round over the pending actions; false when it stopped at a network failure. */
async function send(): Promise<boolean> {
  if (timer) clearTimeout(timer);
  timer = null;
  for (const entry of await outboxAll()) {
    if (entry.state !== 'pending') continue;
    const handler = handlers.get(entry.kind);
    if (!handler) continue;
    entry.attempts += 1;
    try {
      await handler(entry.payload, entry.id);
      await outboxDelete(entry.id);
    } catch (error) {
      if (error instanceof ApiError && !TRANSIENT.has(error.code)) {
        entry.state = 'refused';
        entry.error = { code: error.code, message: error.message };
        await outboxPut(entry);
        await changed();
        continue;
      }
      entry.error = { code: error instanceof ApiError ? error.code : 'NETWORK', message: String(error) };
      await outboxPut(entry);
      await changed();
      schedule();
      return false;
    }
    await changed();
  }
  return true;
}

function schedule(): void {
  if (!timer) timer = setTimeout(() => void flush(), RETRY_MS);
}

/** Starts sending on load and whenever the browser says it is back online. */
export function startOutbox(): void {
  window.addEventListener('online', () => void flush());
  void flush();
}
