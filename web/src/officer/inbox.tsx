// The inbox: what the API told the officer (new reports, dispositions, assignments, escalations, reopenings),
// newest first; opening one marks it read. Kept on the phone like the queue.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { graphql } from '../gql';
import type { OfficerInboxQuery } from '../gql/graphql';
import { request } from '../shared/api';
import { load } from '../shared/data';
import { formatDateTime, language } from '../shared/i18n';
import { navigate } from '../shared/router';
import { useSignal } from '../shared/signal';
import { ConnectionBanner, ErrorMessage, Loading, SavedAt, TopBar } from '../shared/ui';
import { BottomNav, unread } from './nav';
import { t } from './strings';

const Inbox = graphql(`
  query OfficerInbox($first: Int!, $after: String) {
    notifications(first: $first, after: $after) {
      edges { node { id kind title body reportId createdAt readAt } }
      pageInfo { hasNextPage endCursor }
      unreadCount
    }
  }
`);

const MarkRead = graphql(`
  mutation OfficerMarkRead($ids: [ID!]) {
    markNotificationsRead(ids: $ids)
  }
`);

type Item = OfficerInboxQuery['notifications']['edges'][number]['node'];

export function InboxScreen() {
  useSignal(language);
  const [items, setItems] = useState<Item[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);

  const fetchPage = useCallback(async (after: string | null) => {
    setError(null);
    try {
      const loaded = await load(Inbox, { first: 30, after });
      const page = loaded.data.notifications.edges.map((edge) => edge.node);
      setItems((before) => (after ? [...(before ?? []), ...page] : page));
      setNext(loaded.data.notifications.pageInfo.hasNextPage ? loaded.data.notifications.pageInfo.endCursor : null);
      setSavedAt(loaded.savedAt);
      if (loaded.savedAt === null) unread.set(loaded.data.notifications.unreadCount);
    } catch (caught) {
      setError(caught);
    }
  }, []);
  useEffect(() => void fetchPage(null), [fetchPage]);

  /** Marks read on the server; offline the item stays unread there and is marked next time. */
  async function markRead(ids: string[] | null) {
    const at = new Date().toISOString();
    setItems((before) => before?.map((item) => (ids === null || ids.includes(item.id) ? { ...item, readAt: item.readAt ?? at } : item)) ?? null);
    try {
      await request(MarkRead, { ids });
      unread.set(ids === null ? 0 : Math.max(0, unread.get() - ids.length));
    } catch {
      // Nothing lost: the notification is still unread on the server.
    }
  }

  const anyUnread = items?.some((item) => !item.readAt);
  return (
    <main class="screen">
      <TopBar title={t('inbox.title')} />
      <ConnectionBanner />
      <SavedAt savedAt={savedAt} />
      <ErrorMessage error={error} onRetry={() => void fetchPage(null)} />
      {items === null && !error ? <Loading /> : null}
      {items?.length === 0 ? <p>{t('inbox.empty')}</p> : null}
      {anyUnread ? (
        <button type="button" onClick={() => void markRead(null)}>
          {t('inbox.markAll')}
        </button>
      ) : null}
      <ul class="list">
        {items?.map((item) => (
          <li key={item.id} class={`card notification${item.readAt ? '' : ' unread'}`}>
            <p class="notification-title">
              {item.readAt ? null : <span class="badge-new">{t('inbox.unread')}</span>}
              {item.title}
            </p>
            <p>{item.body}</p>
            <p class="muted">{formatDateTime(item.createdAt)}</p>
            {item.reportId ? (
              <button
                type="button"
                onClick={() => {
                  if (!item.readAt) void markRead([item.id]);
                  navigate(`/report/${item.reportId}`);
                }}
              >
                {t('inbox.open')}
              </button>
            ) : !item.readAt ? (
              <button type="button" onClick={() => void markRead([item.id])}>
                {t('inbox.markRead')}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {next ? (
        <button type="button" class="more" onClick={() => void fetchPage(next)}>
          {t('inbox.more')}
        </button>
      ) : null}
      <BottomNav current="inbox" />
    </main>
  );
}
