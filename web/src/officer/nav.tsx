// The officer app's frame: the bottom navigation (queue, inbox with its unread count, account) and the unread
// count itself, which the inbox and live updates keep current.
import { graphql } from '../gql';
import { request } from '../shared/api';
import { language } from '../shared/i18n';
import { signal, useSignal } from '../shared/signal';
import { t } from './strings';

export const unread = signal<number>(0);

const UnreadCount = graphql(`
  query OfficerUnreadCount {
    notifications(first: 1) { unreadCount }
  }
`);

/** Asks the API how many notifications are unread; a failed connection leaves the last count. */
export async function refreshUnread(): Promise<void> {
  try {
    unread.set((await request(UnreadCount)).notifications.unreadCount);
  } catch {
    // Offline: the count shown stays as it was.
  }
}

export function BottomNav(props: { current: 'queue' | 'inbox' | 'account' }) {
  useSignal(language);
  const count = useSignal(unread);
  const link = (name: typeof props.current, href: string, label: string, badge = 0) => (
    <a href={href} aria-current={props.current === name ? 'page' : undefined}>
      {label}
      {badge > 0 ? (
        <>
          <span class="nav-count" aria-hidden="true">
            {badge}
          </span>
          <span class="visually-hidden">{t('nav.unread', { count: badge })}</span>
        </>
      ) : null}
    </a>
  );
  return (
    <nav class="bottom-nav" aria-label={t('nav.label')}>
      {link('queue', '#/', t('nav.queue'))}
      {link('inbox', '#/inbox', t('nav.inbox'), count)}
      {link('account', '#/account', t('nav.account'))}
    </nav>
  );
}
