// The first screen: sign up (the default: most people arrive to file their first report) or log in.
import { useState } from 'preact/hooks';
import { graphql } from '../gql';
import { Refusal, request } from '../shared/api';
import { LoginForm } from '../shared/login';
import { session } from '../shared/session';
import { signal, useSignal } from '../shared/signal';
import { ErrorMessage, Field, LanguageSwitch, TopBar, value } from '../shared/ui';
import { type AppKey, t } from './strings';

const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      session { ...AuthSessionFields }
      errors { code message }
    }
  }
`);

/** Something to tell the person on the welcome screen (their account was just deleted). */
export const welcomeNotice = signal<AppKey | null>(null);

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
      if (answer.signUp.session) {
        welcomeNotice.set(null);
        session.save(answer.signUp.session);
      }
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

export function Welcome() {
  const notice = useSignal(welcomeNotice);
  const [mode, setMode] = useState<'logIn' | 'signUp'>('signUp');
  return (
    <main class="screen">
      <TopBar title={t('title')} actions={<LanguageSwitch />} />
      {notice ? (
        <p class="banner banner-ok" role="status">
          {t(notice)}
        </p>
      ) : null}
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
