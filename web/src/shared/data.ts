// Reads that still answer offline: each successful answer is kept on the phone, and when the network fails the
// last kept answer is shown with the time it was saved.
import type { TypedDocumentString } from '../gql/graphql';
import { NetworkError, request } from './api';
import { session } from './session';
import { cacheGet, cachePut } from './store';

export type Loaded<R> = { data: R; /** When the answer was saved, for an answer read from the phone offline. */ savedAt: number | null };

function cacheKey(document: TypedDocumentString<unknown, unknown>, variables: unknown): string {
  return `${session.account()?.id ?? 'anonymous'}:${String(document.__meta__?.hash)}:${JSON.stringify(variables ?? {})}`;
}

export async function load<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<Loaded<R>> {
  const key = cacheKey(document as TypedDocumentString<unknown, unknown>, variables);
  try {
    const data = await request(document, variables);
    await cachePut(key, data);
    return { data, savedAt: null };
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    const kept = await cacheGet<R>(key);
    if (!kept) throw error;
    return { data: kept.value, savedAt: kept.savedAt };
  }
}

/** Keeps an answer obtained another way (a list's item opened later offline). */
export async function remember<R, V>(document: TypedDocumentString<R, V>, variables: V, data: R): Promise<void> {
  await cachePut(cacheKey(document as TypedDocumentString<unknown, unknown>, variables), data);
}

/** The answer kept on the phone for these variables, without asking the network (null when none is kept). */
export async function kept<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<Loaded<R> | null> {
  const found = await cacheGet<R>(cacheKey(document as TypedDocumentString<unknown, unknown>, variables));
  return found ? { data: found.value, savedAt: found.savedAt } : null;
}
