// The inbox: what happened to the reports you filed or follow (status changes, comments), newest first.
// Opening one marks it read; marking is best effort (a notification read offline stays unread on the server).
import { useEffect } from 'preact/hooks';
import { graphql } from '../gql';
import { request } from '../shared/api';
import { formatDateTime } from '../shared/i18n';
import { navigate } from '../shared/router';
import { ErrorMessage, Loading, SavedAt } from '../shared/ui';
import { refreshUnread, Screen, unread, useLoaded } from './layout';
import { Inbox } from './queries';
import { t } from './strings';

const MarkRead = graphql(`
  mutation MarkNotificationsRead($ids: [ID!]) {
    markNotificationsRead(ids: $ids)
  }
`);

async function markRead(ids: string[] | null): Promise<void> {
  try {
    await request(MarkRead, { ids });
  } catch {
    // Offline: it stays unread on the server and shows as unread next time.
  }
  await refreshUnread();
}

export function InboxScreen() {
  const inbox = useLoaded(Inbox, { first: 50 }, 'inbox');
  const count = inbox.data?.notifications.unreadCount ?? null;
  useEffect(() => {
    if (count !== null) unread.set(count);
  }, [count]);
  const items = inbox.data?.notifications.edges.map((edge) => edge.node) ?? null;

  async function open(id: string, reportId: string | null, isUnread: boolean) {
    if (isUnread) await markRead([id]);
    if (reportId) navigate(`/report/${reportId}`);
    else await inbox.refresh();
  }

  return (
    <Screen title={t('inbox.title')} tab="inbox">
      <SavedAt savedAt={inbox.savedAt} />
      <ErrorMessage error={inbox.error} onRetry={() => void inbox.refresh()} />
      {items === null && !inbox.error ? <Loading /> : null}
      {items?.length === 0 ? <p>{t('inbox.empty')}</p> : null}
      {count ? (
        <button type="button" onClick={() => void markRead(null).then(() => inbox.refresh())}>
          {t('inbox.markAll')}
        </button>
      ) : null}
      <ul class="list">
        {items?.map((item) => (
          <li key={item.id} class={`card notification ${item.readAt ? '' : 'notification-unread'}`}>
            <p class="notification-title">
              {item.readAt ? null : <span class="status status-verifying">{t('inbox.unread')}</span>} {item.title}
            </p>
            <p>{item.body}</p>
            <p class="field-hint">
              <time dateTime={item.createdAt}>{formatDateTime(item.createdAt)}</time>
            </p>
            {item.reportId || !item.readAt ? (
              <button type="button" onClick={() => void open(item.id, item.reportId, !item.readAt)}>
                {item.reportId ? t('inbox.open') : t('action.read')}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </Screen>
  );
}
