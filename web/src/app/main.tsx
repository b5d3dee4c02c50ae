// The citizen app (Qlue) at /app: file a report from the street, follow what the kelurahan does with it.
// Screens by the URL's hash: #/ my reports, #/new a new report, #/report/<id>, #/inbox, #/account.
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { load } from '../shared/data';
import { language } from '../shared/i18n';
import { flush, startOutbox } from '../shared/outbox';
import { online, registerServiceWorker } from '../shared/pwa';
import { match, useRoute } from '../shared/router';
import { session } from '../shared/session';
import { signal, useSignal } from '../shared/signal';
import { openStore } from '../shared/store';
import { AccountScreen } from './account';
import { registerHandlers } from './actions';
import { InboxScreen } from './inbox';
import { refreshUnread } from './layout';
import { MyReportsScreen } from './mine';
import { NewReportScreen } from './newReport';
import { Categories } from './queries';
import { ReportScreen } from './report';
import { Welcome } from './welcome';

const account = signal(session.account());

function Screens() {
  const route = useRoute();
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [route]);
  useEffect(() => {
    // Kept on the phone for filing offline later; the badge of the inbox.
    void load(Categories, {}).catch(() => undefined);
    void refreshUnread();
    return online.subscribe((isOnline) => {
      if (isOnline) void refreshUnread();
    });
  }, []);
  const report = match('/report/:id', route);
  if (report) return <ReportScreen key={report.id} id={report.id} />;
  if (match('/new', route)) return <NewReportScreen />;
  if (match('/inbox', route)) return <InboxScreen />;
  if (match('/account', route)) return <AccountScreen />;
  return <MyReportsScreen />;
}

function App() {
  const who = useSignal(account);
  useSignal(language);
  return who ? <Screens /> : <Welcome />;
}

session.open('app');
openStore('app');
account.set(session.account());
session.subscribe((next) => {
  account.set(next);
  // Logged in again (or the token refreshed): what waited for the session can go now.
  if (next) void flush();
});
document.documentElement.lang = language.get();
registerHandlers();
startOutbox();
registerServiceWorker();
render(<App />, document.getElementById('app')!);
