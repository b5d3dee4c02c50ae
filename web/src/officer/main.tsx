// The officer app (CROP) at /officer: a lurah's, camat's or agency officer's work queue on a phone.
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { graphql } from '../gql';
import type { WorkQueueQuery } from '../gql/graphql';
import { load } from '../shared/data';
import { formatRelative, language } from '../shared/i18n';
import { LoginForm } from '../shared/login';
import { startOutbox } from '../shared/outbox';
import { registerServiceWorker } from '../shared/pwa';
import { session } from '../shared/session';
import { signal, useSignal } from '../shared/signal';
import { openStore } from '../shared/store';
import { tc } from '../shared/strings';
import {
  ConnectionBanner,
  ErrorMessage,
  LanguageSwitch,
  Loading,
  OutboxPanel,
  SavedAt,
  StatusBadge,
  TopBar,
} from '../shared/ui';
import { type OfficerKey, t } from './strings';

const STAFF = new Set(['OFFICER', 'ADMIN']);

const WorkQueue = graphql(`
  query WorkQueue($first: Int!) {
    workQueue(first: $first) {
      edges {
        node {
          id
          description
          status
          dueAt
          overdue
          escalationLevel
          category { code nameId nameEn }
          kelurahan { name }
        }
      }
    }
  }
`);

const account = signal(session.account());

function Login() {
  return (
    <main class="screen">
      <TopBar title={t('title')} actions={<LanguageSwitch />} />
      <h2>{t('login.title')}</h2>
      <LoginForm
        words={{
          login: t('login.login'),
          password: t('login.password'),
          submit: t('login.submit'),
          refused: (code) => t(`login.${code}` as OfficerKey),
        }}
        accept={(role) => STAFF.has(role)}
        notAllowed={t('login.notOfficer')}
      />
    </main>
  );
}

type Item = WorkQueueQuery['workQueue']['edges'][number]['node'];

function Queue() {
  const lang = useSignal(language);
  const [items, setItems] = useState<Item[] | null>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = useCallback(async () => {
    setError(null);
    try {
      const loaded = await load(WorkQueue, { first: 50 });
      setItems(loaded.data.workQueue.edges.map((edge) => edge.node));
      setSavedAt(loaded.savedAt);
    } catch (caught) {
      setError(caught);
    }
  }, []);
  useEffect(() => void refresh(), [refresh]);
  return (
    <main class="screen">
      <TopBar
        title={t('queue.title')}
        actions={
          <button type="button" onClick={() => session.clear()}>
            {tc('app.logOut')}
          </button>
        }
      />
      <ConnectionBanner />
      <SavedAt savedAt={savedAt} />
      <OutboxPanel />
      <ErrorMessage error={error} onRetry={() => void refresh()} />
      {items === null && !error ? <Loading /> : null}
      {items?.length === 0 ? <p>{t('queue.empty')}</p> : null}
      <ul class="list">
        {items?.map((item) => (
          <li key={item.id} class="card report-item">
            <p class="report-category">{lang === 'id' ? item.category.nameId : item.category.nameEn}</p>
            <p class="report-description">{item.description}</p>
            <p class="report-meta">
              <StatusBadge status={item.status} /> {item.kelurahan.name}{' '}
              {item.overdue ? <strong class="overdue">{t('queue.overdue')}</strong> : null}
              {item.dueAt ? <span>{t('queue.due', { time: formatRelative(item.dueAt) })}</span> : null}
            </p>
          </li>
        ))}
      </ul>
    </main>
  );
}

function App() {
  const who = useSignal(account);
  useSignal(language);
  return who ? <Queue /> : <Login />;
}

session.open('officer');
openStore('officer');
account.set(session.account());
session.subscribe((next) => account.set(next));
document.documentElement.lang = language.get();
startOutbox();
registerServiceWorker();
render(<App />, document.getElementById('app')!);
