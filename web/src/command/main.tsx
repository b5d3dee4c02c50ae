// The command-center wall at /command: one screen, no routes, for a 4K wall (3840×2160) and for the mayor's phone.
// Every staff role may open it (operators are officers of the command center's unit, the mayor and inspectors
// follow it as auditors, admins run it): it only reads what each of them may already read city-wide.
import { render } from 'preact';
import { language } from '../shared/i18n';
import { StaffLoginScreen } from '../shared/login';
import { registerServiceWorker } from '../shared/pwa';
import { session } from '../shared/session';
import { signal, useSignal } from '../shared/signal';
import { openStore } from '../shared/store';
import { type CommandKey, t } from './strings';
import { Wall } from './wall';

const STAFF = new Set(['OFFICER', 'AUDITOR', 'ADMIN']);

const account = signal(session.account());

function Login() {
  return <StaffLoginScreen say={(key) => t(key as CommandKey)} roles={STAFF} notAllowed={t('login.notStaff')} />;
}

function App() {
  const who = useSignal(account);
  useSignal(language);
  return who ? (
    <main>
      <Wall key={who.id} />
    </main>
  ) : (
    <Login />
  );
}

session.open('command');
openStore('command');
account.set(session.account());
session.subscribe((next) => account.set(next));
document.documentElement.lang = language.get();
registerServiceWorker();
render(<App />, document.getElementById('app')!);
