// The signed-in account of one app, kept in localStorage under the app's own key so that the officer app and the
// citizen app on one phone hold separate sessions. The refresh token is single-use: each refresh stores the new
// one before anything else runs, and concurrent refreshes share one request.
import { graphql } from '../gql';
import type { AuthSessionFieldsFragment } from '../gql/graphql';
import { request } from './api';

export const AuthSessionFields = graphql(`
  fragment AuthSessionFields on AuthSession {
    accessToken
    refreshToken
    expiresIn
    user { id displayName role email phone unit { id code name kind } }
  }
`);

const Refresh = graphql(`
  mutation RefreshSession($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      session { ...AuthSessionFields }
      errors { code message }
    }
  }
`);

export type Account = AuthSessionFieldsFragment['user'];

type Stored = { accessToken: string; refreshToken: string; expiresAt: number; user: Account };

type Listener = (account: Account | null) => void;

class Session {
  private key = 'jsc.session';
  private stored: Stored | null = null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();

  /** Binds the session to one app's storage key; called once at start-up. */
  open(app: string): void {
    this.key = `jsc.${app}.session`;
    try {
      this.stored = JSON.parse(localStorage.getItem(this.key) ?? 'null') as Stored | null;
    } catch {
      this.stored = null;
    }
  }

  account(): Account | null {
    return this.stored?.user ?? null;
  }

  accessToken(): string | null {
    return this.stored?.accessToken ?? null;
  }

  /** The refresh token, for logOut to end the session on the server as well as on the phone. */
  currentRefreshToken(): string | null {
    return this.stored?.refreshToken ?? null;
  }

  canRefresh(): boolean {
    return this.stored !== null;
  }

  /** Keeps what logIn, signUp or refreshToken returned. */
  save(fields: AuthSessionFieldsFragment): void {
    this.stored = {
      accessToken: fields.accessToken,
      refreshToken: fields.refreshToken,
      expiresAt: Date.now() + fields.expiresIn * 1000,
      user: fields.user,
    };
    localStorage.setItem(this.key, JSON.stringify(this.stored));
    this.emit();
  }

  clear(): void {
    this.stored = null;
    localStorage.removeItem(this.key);
    this.emit();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True when a new access token was stored; false when the refresh token no longer counts (log in again). */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const current = this.stored;
    if (!current) return false;
    // Sent without the expired access token; a network failure leaves the session as it was.
    const answer = await request(Refresh, { refreshToken: current.refreshToken }, { anonymous: true });
    const fresh = answer.refreshToken.session;
    if (!fresh) {
      this.clear();
      return false;
    }
    this.save(fresh);
    return true;
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.account());
  }
}

export const session = new Session();
