// The citizen app (Qlue) at /app: file a report from the street, follow what the kelurahan does with it.
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { graphql } from '../gql';
import type { MyReportsQuery } from '../gql/graphql';
import { Refusal, request } from '../shared/api';
import { load } from '../shared/data';
import { formatDateTime, language } from '../shared/i18n';
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
  Field,
  LanguageSwitch,
  Loading,
  OutboxPanel,
  SavedAt,
  StatusBadge,
  TopBar,
  value,
} from '../shared/ui';
import { type AppKey, t } from './strings';

const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      session { ...AuthSessionFields }
      errors { code message }
    }
  }
`);

const MyReports = graphql(`
  query MyReports($first: Int!) {
    myReports(first: $first) {
      edges {
        node {
          id
          description
          status
          createdAt
          category { code nameId nameEn }
          kelurahan { name }
        }
      }
    }
  }
`);

const account = signal(session.account());

function SignUpForm() {
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const input = {
        displayName: name.trim(),
        password,
        phone: phone.trim() || null,
        email: email.trim() || null,
      };
      const answer = await request(SignUp, { input }, { anonymous: true });
      const refused = answer.signUp.errors[0];
      if (refused) throw new Refusal(refused.code, t(`signup.${refused.code}` as AppKey));
      if (answer.signUp.session) session.save(answer.signUp.session);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card form" onSubmit={(event) => void submit(event)}>
      <Field label={t('signup.name')}>
        <input name="name" autocomplete="nickname" required value={name} onInput={(event) => setName(value(event))} />
      </Field>
      <Field label={t('signup.phone')}>
        <input name="phone" type="tel" autocomplete="tel" value={phone} onInput={(event) => setPhone(value(event))} />
      </Field>
      <Field label={t('signup.email')}>
        <input name="email" type="email" autocomplete="email" value={email} onInput={(event) => setEmail(value(event))} />
      </Field>
      <Field label={t('signup.password')}>
        <input
          name="password"
          type="password"
          autocomplete="new-password"
          minLength={10}
          required
          value={password}
          onInput={(event) => setPassword(value(event))}
        />
      </Field>
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy}>
        {t('signup.submit')}
      </button>
    </form>
  );
}

function Welcome() {
  const [mode, setMode] = useState<'logIn' | 'signUp'>('signUp');
  return (
    <main class="screen">
      <TopBar title={t('title')} actions={<LanguageSwitch />} />
      <p class="lead">{t('welcome.lead')}</p>
      <div class="tabs" role="group">
        <button type="button" aria-pressed={mode === 'signUp'} onClick={() => setMode('signUp')}>
          {t('welcome.signUp')}
        </button>
        <button type="button" aria-pressed={mode === 'logIn'} onClick={() => setMode('logIn')}>
          {t('welcome.logIn')}
        </button>
      </div>
      {mode === 'signUp' ? (
        <SignUpForm />
      ) : (
        <LoginForm
          words={{
            login: t('login.login'),
            password: t('login.password'),
            submit: t('login.submit'),
            refused: (code) => t(`login.${code}` as AppKey),
          }}
          accept={(role) => role === 'CITIZEN'}
          notAllowed={t('login.staff')}
        />
      )}
      <p>
        <a href="/map">{t('nav.map')}</a>
      </p>
    </main>
  );
}

type Mine = MyReportsQuery['myReports']['edges'][number]['node'];

function MyReportsScreen() {
  const lang = useSignal(language);
  const [items, setItems] = useState<Mine[] | null>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = useCallback(async () => {
    setError(null);
    try {
      const loaded = await load(MyReports, { first: 50 });
      setItems(loaded.data.myReports.edges.map((edge) => edge.node));
      setSavedAt(loaded.savedAt);
    } catch (caught) {
      setError(caught);
    }
  }, []);
  useEffect(() => void refresh(), [refresh]);
  return (
    <main class="screen">
      <TopBar
        title={t('mine.title')}
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
      {items?.length === 0 ? <p>{t('mine.empty')}</p> : null}
      <ul class="list">
        {items?.map((item) => (
          <li key={item.id} class="card report-item">
            <p class="report-category">{lang === 'id' ? item.category.nameId : item.category.nameEn}</p>
            <p class="report-description">{item.description}</p>
            <p class="report-meta">
              <StatusBadge status={item.status} /> {item.kelurahan.name} · {formatDateTime(item.createdAt)}
            </p>
          </li>
        ))}
      </ul>
      <nav class="bottom-nav">
        <a href="/map">{t('nav.map')}</a>
      </nav>
    </main>
  );
}

function App() {
  const who = useSignal(account);
  useSignal(language);
  return who ? <MyReportsScreen /> : <Welcome />;
}

session.open('app');
openStore('app');
account.set(session.account());
session.subscribe((next) => account.set(next));
document.documentElement.lang = language.get();
startOutbox();
registerServiceWorker();
render(<App />, document.getElementById('app')!);
