// The officer app (CROP) at /officer: a lurah's, camat's or agency officer's work on a phone. Screens by the
// URL's hash: #/ (the queue, its filters in the hash's query), #/report/<id>, #/inbox, #/account.
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { language } from '../shared/i18n';
import { StaffLoginScreen } from '../shared/login';
import { startOutbox } from '../shared/outbox';
import { registerServiceWorker } from '../shared/pwa';
import { match, useRoute } from '../shared/router';
import { session } from '../shared/session';
import { signal, useSignal } from '../shared/signal';
import { clearAll, openStore, outboxAll } from '../shared/store';
import { tc } from '../shared/strings';
import { LanguageSwitch, TopBar } from '../shared/ui';
import { InboxScreen } from './inbox';
import { openLastLook } from './lastLook';
import { BottomNav } from './nav';
import { QueueScreen } from './queue';
import { ReportScreen } from './report';
import { type OfficerKey, t } from './strings';
import { registerWork } from './work';

const STAFF = new Set(['OFFICER', 'ADMIN']);

const account = signal(session.account());

function Login() {
  return <StaffLoginScreen say={(key) => t(key as OfficerKey)} roles={STAFF} notAllowed={t('login.notOfficer')} />;
}

function AccountScreen() {
  useSignal(language);
  const who = session.account();
  const [unsent, setUnsent] = useState<number | null>(null);
  async function logOut() {
    const waiting = (await outboxAll()).filter((entry) => entry.state === 'pending').length;
    if (waiting && unsent === null) {
      // Actions not yet sent would be lost: ask once more.
      setUnsent(waiting);
      return;
    }
    await clearAll();
    session.clear();
  }
  return (
    <main class="screen">
      <TopBar title={t('account.title')} />
      <section class="card">
        <dl class="facts">
          <dt>{t('account.name')}</dt>
          <dd>{who?.displayName}</dd>
          <dt>{t('account.unit')}</dt>
          <dd>{who?.unit?.name ?? '–'}</dd>
          <dt>{t('account.login')}</dt>
          <dd>{who?.email ?? who?.phone}</dd>
        </dl>
      </section>
      <section class="card form">
        <LanguageSwitch />
        {unsent ? (
          <p class="banner banner-error" role="alert">
            {t('account.unsent', { count: unsent })}
          </p>
        ) : null}
        <button type="button" class="danger" onClick={() => void logOut()}>
          {unsent ? t('account.logOutAnyway') : tc('app.logOut')}
        </button>
      </section>
      <BottomNav current="account" />
    </main>
  );
}

function Screens() {
  const route = useRoute();
  const report = match('/report/:id', route);
  if (report) return <ReportScreen id={report.id!} />;
  if (match('/inbox', route)) return <InboxScreen />;
  if (match('/account', route)) return <AccountScreen />;
  return <QueueScreen route={route} />;
}

function App() {
  const who = useSignal(account);
  useSignal(language);
  return who ? <Screens key={who.id} /> : <Login />;
}

session.open('officer');
openStore('officer');
account.set(session.account());
openLastLook(session.account()?.id ?? null);
session.subscribe((next) => {
  openLastLook(next?.id ?? null);
  account.set(next);
});
document.documentElement.lang = language.get();
registerWork();
startOutbox();
registerServiceWorker();
render(<App />, document.getElementById('app')!);
