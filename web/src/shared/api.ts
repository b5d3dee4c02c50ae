// The apps' GraphQL client: sends trusted documents by id (never their text), keeps the session's tokens fresh,
// and tells a network failure (retry later, keep the action in the outbox) from an answer that refused the
// request (show it; retrying would not help).
import type { TypedDocumentString } from '../gql/graphql';
import { session } from './session';

/** How long a request may take on a weak connection before it counts as a network failure. */
const TIMEOUT_MS = 30_000;

/** The API refused the request; `code` is the GraphQL error's extensions.code (UNAUTHENTICATED, FORBIDDEN, ...). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly reason: string | null = null,
  ) {
    super(message);
  }
}

/** A refusal whose message is already written for the person (translated by the app). */
export class Refusal extends ApiError {}

/** The request did not reach the API or its answer did not come back: the action may be retried as it is. */
export class NetworkError extends Error {}

type GraphQLResponse<R> = {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
};

function documentId(document: TypedDocumentString<unknown, unknown>): string {
  const hash = document.__meta__?.hash;
  if (typeof hash !== 'string') throw new Error('a document without its hash: run the web build');
  return hash.replace(/^sha256:/, '');
}

async function post<R>(body: unknown, token: string | null): Promise<GraphQLResponse<R>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
      signal: controller.signal,
      credentials: 'omit',
    });
  } catch (error) {
    throw new NetworkError(String(error));
  } finally {
    clearTimeout(timer);
  }
  if (response.status >= 500) throw new NetworkError(`HTTP ${response.status}`);
  try {
    return (await response.json()) as GraphQLResponse<R>;
  } catch {
    throw new NetworkError(`HTTP ${response.status}: not JSON`);
  }
}

/**
 * Runs one operation and returns its data, or throws ApiError / NetworkError. An access token that expired, or
 * whose account changed, is refreshed once and the operation sent again.
 */
export async function request<R, V>(
  document: TypedDocumentString<R, V>,
  variables?: V,
  options: { anonymous?: boolean } = {},
): Promise<R> {
  const body = { documentId: documentId(document as TypedDocumentString<unknown, unknown>), variables: variables ?? {} };
  const token = () => (options.anonymous ? null : session.accessToken());
  let answer = await post<R>(body, token());
  const first = answer.errors?.[0];
  if (first?.extensions?.code === 'UNAUTHENTICATED' && !options.anonymous && session.canRefresh()) {
    const reason = first.extensions.reason;
    if (reason === 'TOKEN_EXPIRED' || reason === 'ACCOUNT_CHANGED') {
      if (await session.refresh()) answer = await post<R>(body, token());
    }
  }
  const error = answer.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
    if (code === 'UNAUTHENTICATED' && error.extensions?.reason === 'ACCOUNT_CLOSED') session.clear();
    throw new ApiError(code, error.message, error.extensions?.reason ?? null);
  }
  if (answer.data == null) throw new NetworkError('an answer without data');
  return answer.data;
}

/** A fresh idempotency key for one action: the same key goes with every retry and replay of that action. */
export function newRequestId(): string {
  return crypto.randomUUID();
}
