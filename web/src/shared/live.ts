// Live updates over graphql-transport-ws (the protocol api/static/live.js speaks for the public map):
// connection_init → connection_ack → subscribe → next… The subscription goes as a trusted document (its id,
// never its text). Any failure (offline, a restart, the server ending it) is followed by a quiet reconnect with
// capped, jittered backoff, so the queue works without live updates and picks them up again. A staff subscription
// (`authorized`) sends the access token in connection_init, the one place a browser's WebSocket can carry it, and
// refreshes an expired token before it connects again.
import type { TypedDocumentString } from '../gql/graphql';
import { session } from './session';

const PROTOCOL = 'graphql-transport-ws';
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 60_000;

export type LiveState = 'connecting' | 'open' | 'retrying' | 'stopped';

type GraphQLError = { extensions?: { code?: string } };
type Message = { type: string; id?: string; payload?: { data?: unknown; errors?: GraphQLError[] } | GraphQLError[] };

/** Whether the server ended the subscription because its token no longer counts. */
function unauthenticated(message: Message): boolean {
  const errors = Array.isArray(message.payload) ? message.payload : (message.payload?.errors ?? []);
  return errors.some((error) => error.extensions?.code === 'UNAUTHENTICATED');
}

export class Live<R, V> {
  private socket: WebSocket | null = null;
  private retries = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sequence = 0;
  private activeId: string | null = null;
  private stopped = false;

  constructor(
    private readonly document: TypedDocumentString<R, V>,
    private variables: V,
    private readonly onData: (data: R) => void,
    private readonly onState: (state: LiveState) => void = () => {},
    private readonly authorized = false,
  ) {}

  private refreshFirst = false;

  /** Back online: reconnect now rather than at the end of the backoff. */
  private readonly resume = () => {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.retries = 0;
    this.connect();
  };

  start(): void {
    this.stopped = false;
    window.addEventListener('online', this.resume);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.resume);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.activeId = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
    }
    this.onState('stopped');
  }

  /** New variables: the open subscription is completed and a new one started. */
  update(variables: V): void {
    if (JSON.stringify(variables) === JSON.stringify(this.variables)) return;
    this.variables = variables;
    if (this.activeId !== null) {
      this.send({ id: this.activeId, type: 'complete' });
      this.subscribe();
    }
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    if (this.refreshFirst) {
      // The token stopped counting (UNAUTHENTICATED): a fresh one first; no session left means logged out.
      this.refreshFirst = false;
      session.refresh().then(
        (fresh) => (fresh ? this.connect() : this.stop()),
        () => this.retry(),
      );
      return;
    }
    this.onState('connecting');
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`, PROTOCOL);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const token = this.authorized ? session.accessToken() : null;
      this.send({ type: 'connection_init', payload: token ? { Authorization: `Bearer ${token}` } : {} });
    };
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.activeId = null;
      this.retry();
    };
    // The browser reports the failure itself; close follows and schedules the retry.
    socket.onerror = () => {};
  }

  private receive(raw: string): void {
    let message: Message;
    try {
      message = JSON.parse(raw) as Message;
    } catch {
      return;
    }
    if (message.type === 'connection_ack') {
      this.retries = 0;
      this.subscribe();
      this.onState('open');
    } else if (message.type === 'ping') {
      this.send({ type: 'pong' });
    } else if (message.type === 'next' && message.id === this.activeId) {
      const payload = Array.isArray(message.payload) ? undefined : message.payload;
      if (payload?.data) this.onData(payload.data as R);
      // An error the subscription ended with; its `complete` follows.
      else if (unauthenticated(message)) this.refreshFirst = this.authorized;
    } else if ((message.type === 'error' || message.type === 'complete') && message.id === this.activeId) {
      if (unauthenticated(message)) this.refreshFirst = this.authorized;
      // Refused or ended by the server (RESYNC_REQUIRED, a restart): start again on a fresh connection.
      this.activeId = null;
      const socket = this.socket;
      this.socket = null;
      if (socket) {
        socket.onclose = null;
        socket.close(1000);
      }
      this.retry();
    }
  }

  private subscribe(): void {
    this.sequence += 1;
    this.activeId = String(this.sequence);
    const hash = this.document.__meta__?.hash;
    const documentId = typeof hash === 'string' ? hash.replace(/^sha256:/, '') : '';
    this.send({ id: this.activeId, type: 'subscribe', payload: { documentId, variables: this.variables } });
  }

  private send(message: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private retry(): void {
    if (this.timer !== null || this.stopped) return;
    this.onState('retrying');
    const ceiling = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.retries);
    this.retries += 1;
    // Jitter: the phones of a whole city do not all reconnect at the same instant after a restart.
    this.timer = setTimeout(() => this.connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  }
}
