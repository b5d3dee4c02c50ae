// A minimal graphql-transport-ws client for one subscription at a time: connection_init, connection_ack,
// subscribe, then `next` until `complete`. Any failure (no server, no subscription, a dropped socket) is
// followed by a quiet reconnect with capped exponential backoff, so the map works without live updates.

const PROTOCOL = 'graphql-transport-ws';
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30000;

export class LiveSubscription {
  /**
   * @param {object} options
   * @param {string} options.url ws(s)://host/graphql
   * @param {string} options.query the subscription document
   * @param {object} options.variables its variables
   * @param {(data: object) => void} options.onData called with `payload.data` of each `next`
   * @param {(state: 'connecting'|'open'|'retrying', resumed: boolean) => void} options.onState
   */
  constructor({ url, query, variables, onData, onState }) {
    this.url = url;
    this.query = query;
    this.variables = variables;
    this.onData = onData;
    this.onState = onState;
    this.socket = null;
    this.retries = 0;
    this.timer = null;
    this.sequence = 0;
    this.activeId = null;
    this.everOpened = false;
  }

  start() {
    this.connect();
  }

  /** Changes the variables; an open connection completes the old subscription and starts the new one. */
  update(variables) {
    this.variables = variables;
    if (this.activeId !== null) {
      this.send({ id: this.activeId, type: 'complete' });
      this.subscribe();
    }
  }

  connect() {
    this.timer = null;
    this.onState('connecting', false);
    let socket;
    try {
      socket = new WebSocket(this.url, PROTOCOL);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.send({ type: 'connection_init', payload: {} });
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = () => {
      if (this.socket === socket) {
        this.socket = null;
        this.activeId = null;
        this.retry();
      }
    };
    // The browser logs the failure itself; close follows and schedules the retry.
    socket.onerror = () => {};
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    switch (message.type) {
      case 'connection_ack': {
        const resumed = this.everOpened;
        this.everOpened = true;
        this.retries = 0;
        this.subscribe();
        this.onState('open', resumed);
        break;
      }
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'next':
        if (message.id === this.activeId && message.payload && message.payload.data) {
          this.onData(message.payload.data);
        }
        break;
      case 'error':
      case 'complete':
        // The server refused or ended our subscription: start over on a fresh connection, later.
        if (message.id === this.activeId) {
          this.activeId = null;
          this.drop();
        }
        break;
      default:
        break;
    }
  }

  subscribe() {
    this.sequence += 1;
    this.activeId = String(this.sequence);
    this.send({ id: this.activeId, type: 'subscribe', payload: { query: this.query, variables: this.variables } });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  drop() {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
    }
    this.retry();
  }

  retry() {
    if (this.timer !== null) {
      return;
    }
    this.onState('retrying', false);
    const ceiling = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.retries);
    this.retries += 1;
    // Jitter, so that every open map does not reconnect at the same instant after a restart.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
