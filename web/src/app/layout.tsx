// What every screen of the citizen app has: the top bar, the connection banner, the bottom menu (the public map is
// one tap away from any screen), and hooks for data kept on the phone and for the outbox.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { TypedDocumentString } from '../gql/graphql';
import { request } from '../shared/api';
import { load } from '../shared/data';
import { watchOutbox } from '../shared/outbox';
import { online } from '../shared/pwa';
import { signal, useSignal } from '../shared/signal';
import type { OutboxEntry } from '../shared/store';
import { ConnectionBanner, TopBar } from '../shared/ui';
import { Icon } from './icons';
import { UnreadCount } from './queries';
import { t } from './strings';

/** Unread notifications, for the menu's badge; refreshed by the inbox and when the app starts or reconnects. */
export const unread = signal(0);

export async function refreshUnread(): Promise<void> {
  try {
    unread.set((await request(UnreadCount)).notifications.unreadCount);
  } catch {
    // Offline or logged out: the badge keeps what it showed.
  }
}

type Tab = 'new' | 'mine' | 'inbox' | 'account';

function BottomNav(props: { current: Tab | null }) {
  const count = useSignal(unread);
  const link = (tab: Tab, href: string, icon: string, label: string) => (
    <a href={href} aria-current={props.current === tab ? 'page' : undefined}>
      <Icon name={icon} />
      <span>{label}</span>
      {tab === 'inbox' && count > 0 ? (
        <>
          <span class="badge" aria-hidden="true">
            {count}
          </span>
          <span class="visually-hidden"> ({t('nav.unread', { count })})</span>
        </>
      ) : null}
    </a>
  );
  return (
    <nav class="bottom-nav citizen-nav" aria-label={t('nav.label')}>
      {link('new', '#/new', 'camera', t('nav.new'))}
      {link('mine', '#/', 'list', t('nav.mine'))}
      {link('inbox', '#/inbox', 'bell', t('nav.inbox'))}
      <a href="/map">
        <Icon name="map" />
        <span>{t('nav.map')}</span>
      </a>
      {link('account', '#/account', 'user', t('nav.account'))}
    </nav>
  );
}

export function Screen(props: {
  title: string;
  tab: Tab | null;
  back?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <div class="citizen-page">
      <main class="screen">
        <TopBar title={props.title} back={props.back} actions={props.actions} />
        <ConnectionBanner />
        {props.children}
      </main>
      <BottomNav current={props.tab} />
    </div>
  );
}

/** The outbox as it is now, followed as it changes. */
export function useOutbox(): OutboxEntry[] {
  const [entries, setEntries] = useState<OutboxEntry[]>([]);
  useEffect(() => watchOutbox(setEntries), []);
  return entries;
}

export type Loaded<R> = { data: R | null; savedAt: number | null; error: unknown; refresh: () => Promise<void> };

/**
 * A read that also answers offline (the last answer kept on the phone, with its time); it is read again when
 * the phone comes back online.
 */
export function useLoaded<R, V>(document: TypedDocumentString<R, V>, variables: V, key: string): Loaded<R> {
  const [data, setData] = useState<R | null>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const latest = useRef(key);
  latest.current = key;
  const refresh = useCallback(async () => {
    const asked = key;
    try {
      const loaded = await load(document, variables);
      if (latest.current !== asked) return;
      setData(loaded.data);
      setSavedAt(loaded.savedAt);
      setError(null);
    } catch (caught) {
      if (latest.current === asked) setError(caught);
    }
    // The variables are part of `key`.
  }, [key]);
  useEffect(() => {
    setData(null);
    setError(null);
    void refresh();
  }, [refresh]);
  const isOnline = useSignal(online);
  const wasOnline = useRef(isOnline);
  useEffect(() => {
    if (isOnline && !wasOnline.current) void refresh();
    wasOnline.current = isOnline;
  }, [isOnline, refresh]);
  return { data, savedAt, error, refresh };
}

/** Calls `then` when some of the outbox entries `matching` selects have left it (sent or dismissed). */
export function useSent(entries: OutboxEntry[], matching: (entry: OutboxEntry) => boolean, then: () => void): void {
  const ids = entries.filter(matching).map((entry) => entry.id);
  const previous = useRef<string[]>(ids);
  const signature = ids.join(',');
  useEffect(() => {
    const gone = previous.current.some((id) => !ids.includes(id));
    previous.current = ids;
    if (gone) then();
  }, [signature]);
}
