// The log-in form both apps use: a phone number or e-mail and a password.
import { useState } from 'preact/hooks';
import { graphql } from '../gql';
import { Refusal, request } from './api';
import { language } from './i18n';
import { session } from './session';
import { useSignal } from './signal';
import { ErrorMessage, Field, LanguageSwitch, TopBar, value } from './ui';

export const LogIn = graphql(`
  mutation LogIn($login: String!, $password: String!) {
    logIn(login: $login, password: $password) {
      session { ...AuthSessionFields }
      errors { code message }
    }
  }
`);

export type LoginWords = { login: string; password: string; submit: string; refused: (code: string) => string };

export function LoginForm(props: { words: LoginWords; accept?: (role: string) => boolean; notAllowed?: string }) {
  useSignal(language);
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await request(LogIn, { login: login.trim(), password }, { anonymous: true });
      const refused = answer.logIn.errors[0];
      if (refused) throw new Refusal(refused.code, props.words.refused(refused.code));
      const fresh = answer.logIn.session;
      if (!fresh) throw new Refusal('NOT_FOUND', props.words.refused('NOT_FOUND'));
      if (props.accept && !props.accept(fresh.user.role)) throw new Refusal('WRONG_APP', props.notAllowed ?? '');
      session.save(fresh);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card form" onSubmit={(event) => void submit(event)}>
      <Field label={props.words.login}>
        <input
          name="login"
          autocomplete="username"
          inputmode="email"
          required
          value={login}
          onInput={(event) => setLogin(value(event))}
        />
      </Field>
      <Field label={props.words.password}>
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(event) => setPassword(value(event))}
        />
      </Field>
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy}>
        {props.words.submit}
      </button>
    </form>
  );
}

/**
 * A staff app's first screen (the officer app, the command wall): the app's name, the language, the form. `say`
 * is the app's translator over its keys `title`, `login.title`, `login.login`, `login.password`, `login.submit`,
 * `login.<LogInErrorCode>` (`notAllowed` is the refusal for other roles).
 */
export function StaffLoginScreen(props: { say: (key: string) => string; roles: ReadonlySet<string>; notAllowed: string }) {
  const say = props.say;
  const words = {
    login: say('login.login'),
    password: say('login.password'),
    submit: say('login.submit'),
    refused: (code: string) => say(`login.${code}`),
  };
  return (
    <main class="screen">
      <TopBar title={say('title')} actions={<LanguageSwitch />} />
      <h2>{say('login.title')}</h2>
      <LoginForm words={words} accept={(role) => props.roles.has(role)} notAllowed={props.notAllowed} />
    </main>
  );
}
