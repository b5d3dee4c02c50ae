// "New since your last look": the moment an officer last marked the queue as seen, kept on the phone per
// account. It is the newest `updatedAt` the officer saw (the server's clock, not the phone's, which may be off).
import { signal } from '../shared/signal';

const key = (accountId: string) => `jsc.officer.lastLook.${accountId}`;

/** The last look of the signed-in account (ISO time), or null before the first one. */
export const lastLook = signal<string | null>(null);

export function openLastLook(accountId: string | null): void {
  lastLook.set(accountId ? localStorage.getItem(key(accountId)) : null);
}

export function markSeen(accountId: string, newest: string): void {
  const current = lastLook.get();
  if (current && new Date(current).getTime() >= new Date(newest).getTime()) return;
  localStorage.setItem(key(accountId), newest);
  lastLook.set(newest);
}

/** Changed after the last look (everything is new before the first look). */
export function isNew(updatedAt: string, look: string | null): boolean {
  return look === null || new Date(updatedAt).getTime() > new Date(look).getTime();
}

/** The newest change among the items, to store as the new last look. */
export function newestChange(items: { updatedAt: string }[]): string | null {
  let newest: string | null = null;
  for (const item of items) {
    if (newest === null || new Date(item.updatedAt).getTime() > new Date(newest).getTime()) newest = item.updatedAt;
  }
  return newest;
}
