// What the app keeps on the phone, in IndexedDB: the last answer of each query it showed (so that it opens and
// reads offline) and the outbox of actions not yet accepted by the API (so that nothing done offline is lost).
// Both live in one database per app; Blobs (photos taken offline) are stored as they are.

const VERSION = 1;
let database: Promise<IDBDatabase> | null = null;
let databaseName = 'jsc';

/** Binds the store to one app's database; called once at start-up, before any read or write. */
export function openStore(app: string): void {
  databaseName = `jsc-${app}`;
  database = null;
}

function db(): Promise<IDBDatabase> {
  database ??= new Promise((resolve, reject) => {
    const opening = indexedDB.open(databaseName, VERSION);
    opening.onupgradeneeded = () => {
      const created = opening.result;
      if (!created.objectStoreNames.contains('cache')) created.createObjectStore('cache');
      if (!created.objectStoreNames.contains('outbox')) created.createObjectStore('outbox', { keyPath: 'id' });
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  return database;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(
  store: 'cache' | 'outbox',
  mode: IDBTransactionMode,
  work: (objects: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const transaction = (await db()).transaction(store, mode);
  const result = await done(work(transaction.objectStore(store)));
  await new Promise<void>((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
  return result;
}

export type Cached<T> = { value: T; savedAt: number };

export async function cacheGet<T>(key: string): Promise<Cached<T> | null> {
  return ((await run('cache', 'readonly', (objects) => objects.get(key))) as Cached<T> | undefined) ?? null;
}

export async function cachePut<T>(key: string, value: T): Promise<void> {
  await run('cache', 'readwrite', (objects) => objects.put({ value, savedAt: Date.now() } satisfies Cached<T>, key));
}

/** Forgets everything kept for the account (log out, account deleted). */
export async function clearAll(): Promise<void> {
  await run('cache', 'readwrite', (objects) => objects.clear());
  await run('outbox', 'readwrite', (objects) => objects.clear());
}

export type OutboxState = 'pending' | 'refused';

/** One action waiting for the API. `id` is its idempotency key, sent with every attempt. */
export type OutboxEntry = {
  id: string;
  kind: string;
  /** What the person sees in the list of waiting actions. */
  label: string;
  payload: unknown;
  createdAt: number;
  attempts: number;
  state: OutboxState;
  /** For a refused action: the API's code and message. For a pending one: the last network failure. */
  error: { code: string; message: string } | null;
};

export async function outboxAll(): Promise<OutboxEntry[]> {
  const entries = (await run('outbox', 'readonly', (objects) => objects.getAll())) as OutboxEntry[];
  return entries.sort((a, b) => a.createdAt - b.createdAt);
}

export async function outboxPut(entry: OutboxEntry): Promise<void> {
  await run('outbox', 'readwrite', (objects) => objects.put(entry));
}

export async function outboxDelete(id: string): Promise<void> {
  await run('outbox', 'readwrite', (objects) => objects.delete(id));
}
