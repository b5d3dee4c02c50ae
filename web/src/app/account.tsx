// The account: language, log out, delete the account. Both of the latter clear what the app kept on the phone
// (the session, the answers kept for offline use, the outbox with its photos); logging out warns first when
// actions are still waiting to be sent, since they would be lost.
import { useState } from 'preact/hooks';
import { graphql } from '../gql';
import { NetworkError, Refusal, request } from '../shared/api';
import { session } from '../shared/session';
import { clearAll } from '../shared/store';
import { ErrorMessage, Field, LanguageSwitch, value } from '../shared/ui';
import { Screen, useOutbox } from './layout';
import { type AppKey, t } from './strings';
import { welcomeNotice } from './welcome';

const LogOut = graphql(`
  mutation LogOut($refreshToken: String!) {
    logOut(refreshToken: $refreshToken) { ok }
  }
`);

const DeleteAccount = graphql(`
  mutation DeleteAccount($password: String!) {
    deleteAccount(password: $password) {
      deleted
      errors { code message }
    }
  }
`);

async function forget(): Promise<void> {
  await clearAll();
  session.clear();
  // Once more: a read that was on its way when the first clear ran may have kept its answer since.
  await clearAll();
}

async function logOut(): Promise<void> {
  const token = session.currentRefreshToken();
  if (token) {
    try {
      await request(LogOut, { refreshToken: token }, { anonymous: true });
    } catch {
      // Offline: the refresh token expires on its own; the phone forgets it now.
    }
  }
  await forget();
}

function DeleteForm() {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await request(DeleteAccount, { password });
      const refused = answer.deleteAccount.errors[0];
      if (refused) throw new Refusal(refused.code, t(`account.${refused.code}` as AppKey));
      welcomeNotice.set('welcome.deleted');
      await forget();
      location.hash = '#/';
    } catch (caught) {
      setError(caught instanceof NetworkError ? new Refusal('NETWORK', t('account.deleteOffline')) : caught);
      setBusy(false);
    }
  }
  return (
    <form class="card form" aria-labelledby="delete-title" onSubmit={(event) => void submit(event)}>
      <h2 id="delete-title">{t('account.deleteTitle')}</h2>
      <p>{t('account.deleteLead')}</p>
      <Field label={t('account.deletePassword')}>
        <input
          name="delete-password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(event) => setPassword(value(event))}
        />
      </Field>
      <ErrorMessage error={error} />
      <button type="submit" class="danger" disabled={busy}>
        {t('account.deleteSubmit')}
      </button>
    </form>
  );
}

export function AccountScreen() {
  const account = session.account();
  const waiting = useOutbox().filter((entry) => entry.state === 'pending').length;
  const [confirming, setConfirming] = useState(false);
  return (
    <Screen title={t('account.title')} tab="account">
      <section class="card form">
        <p>{t('account.signedInAs', { name: account?.displayName ?? '' })}</p>
        <p class="field-hint">{account?.email ?? account?.phone ?? ''}</p>
        <LanguageSwitch />
        {confirming ? (
          <p class="banner banner-error" role="alert">
            {t('account.logOutWaiting', { count: waiting })}
          </p>
        ) : null}
        <button
          type="button"
          onClick={() => {
            if (waiting > 0 && !confirming) setConfirming(true);
            else void logOut();
          }}
        >
          {confirming ? t('account.logOutAnyway') : t('account.logOut')}
        </button>
      </section>
      <DeleteForm />
    </Screen>
  );
}
