// Type declarations of herald.js, the browser client of Herald.
// See docs/browser-client.md.

/**
 * The state of a Herald client.
 *
 * - `connecting`: connect() was called and no subscription is confirmed yet
 *   (also an SSE client with no topics, which connects once it has one).
 * - `open`: the server confirmed the subscription; messages flow.
 * - `reconnecting`: the connection ended; the client waits for its backoff
 *   delay or is connecting again, and will resume from its last id.
 * - `closed`: not connected: before connect(), after close(), or after a
 *   refusal that retrying cannot fix.
 */
export type HeraldState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The transport of a Herald client. */
export type HeraldTransport = 'sse' | 'ws';

/**
 * A credential: a token (a JWT), or a function returning the current token
 * or a promise of it, called before every connection and, over WebSocket,
 * before the token expires. An empty result means none. A function that
 * throws or rejects fails the connection attempt, which is retried with
 * backoff.
 */
export type HeraldToken = string | (() => string | null | undefined | Promise<string | null | undefined>);

/** Options of a Herald client. Every field is optional. */
export interface HeraldOptions {
  /** The server's base URL (scheme, host, port); default `location.origin`. */
  url?: string | URL;
  /** Topics or patterns (`news`, `orders.*`, `alerts.>`); default none. */
  topics?: string | readonly string[];
  /** `sse` (Server-Sent Events, the default) or `ws` (WebSocket). */
  transport?: HeraldTransport;
  /** Resume after this id: the first connection receives every retained message published after it. */
  lastEventId?: string;
  /** A connection silent for longer than this many heartbeat intervals is replaced; default 2, at least 1. */
  heartbeatTimeoutFactor?: number;
  /** Ask the server for this heartbeat interval in milliseconds (clamped to 1 s – 5 min); default: the server's. */
  heartbeatInterval?: number;
  /** Reconnect delays in ms: attempt n waits a random time in [0, min(max, initial × 2ⁿ)]; default 500 and 30000. */
  backoff?: { initial?: number; max?: number };
  /** Milliseconds a connection attempt may take until the subscription is confirmed; default 15000. */
  connectTimeout?: number;
  /** SSE only: send cookies (such as `herald_token`) on cross-origin requests; WebSocket handshakes send them by themselves. */
  withCredentials?: boolean;
  /**
   * The credential, sent as the `access_token` query parameter of every
   * connection; default none (the server then sees the `herald_token`
   * cookie, if the application set one). When a connection ends because
   * its token expired, the client reconnects at once with a fresh token
   * from the function; over WebSocket it renews the token in place before
   * it expires.
   */
  token?: HeraldToken;
}

/** A message: the detail of a `message` event. */
export interface HeraldMessage {
  /** The topic it was published to. */
  topic: string;
  /** Its id: the position to resume after. */
  id: string;
  /** The payload as text; empty when the payload is not valid UTF-8 (see dataBase64). */
  data: string;
  /** The payload in base64, present only when it is not valid UTF-8. */
  dataBase64?: string;
  /** Its content type; empty when none was given. */
  contentType: string;
  /** Its event name; empty when none was given. */
  event: string;
  /** When the server accepted it (RFC 3339, UTC). */
  publishTime: string;
}

/** The detail of a `state` event. */
export interface HeraldStateChange {
  state: HeraldState;
  previous: HeraldState;
}

/** The detail of an `open` event: a connection's subscription is confirmed. */
export interface HeraldOpen {
  transport: HeraldTransport;
  /** The topics as the server normalised them. */
  topics: string[];
  /** The newest id on the server when the subscription started. */
  currentId: string;
  /** The server's heartbeat interval in milliseconds; 0 when not announced. */
  heartbeatInterval: number;
}

/** The detail of a `gap` event: messages of these topics after requestedId may be missing. */
export interface HeraldGap {
  topics: string[];
  requestedId: string;
  /** The oldest retained id replayed for those topics; empty when none is retained. */
  firstAvailableId: string;
  /** `REASON_TRUNCATED` (retention dropped them) or `REASON_EPOCH_CHANGED` (the server's history restarted). */
  reason: string;
}

/** The detail of an `error` event. */
export interface HeraldError {
  /** What failed: a server code (`invalid_argument`, `permission_denied`, `unauthenticated`, …) or a client one (`heartbeat_timeout`, `connect_timeout`, `refused`, `invalid_frame`, `token_error`, `unauthenticated`, …). */
  code: string;
  message: string;
  /** The client has stopped (state `closed`); connect() tries again. */
  fatal: boolean;
  /** The HTTP status of a refused request. */
  status?: number;
  /** The server's reason of a refusal, when it gives one (`invalid_token`, `token_expired`, `rate_limited`, …). */
  reason?: string;
  /** The WebSocket close code of a fatal close. */
  closeCode?: number;
  /** WebSocket: the id of the request the server refused. */
  id?: string;
  /** WebSocket: the kind of the refused request (`auth`: renewing the token). */
  request?: 'subscribe' | 'unsubscribe' | 'auth';
  /** WebSocket: the topics of the refused request (a refused subscribe's topics are dropped). */
  topics?: string[];
}

/** The detail of a `close` event: a connection ended. */
export interface HeraldClose {
  /** `client`, `going_away`, `slow_consumer`, `token_expired` (the client reconnects at once with a fresh token), `heartbeat_timeout`, `connect_timeout`, `network`, `refused`, `unavailable`, `unauthenticated`, `token_error`, `resubscribe`, or the name of a WebSocket close code. */
  reason: string;
  message: string;
  /** The WebSocket close code. */
  code?: number;
  /** The HTTP status of a refused request. */
  status?: number;
  /** Whether the client will connect again. */
  reconnect: boolean;
}

/** The detail of an `authenticated` event: the open WebSocket renewed its token in place. */
export interface HeraldAuthenticated {
  /** When the new token expires (RFC 3339, UTC); empty when it does not. */
  expiresAt: string;
}

/** The events of a Herald client, by type. */
export interface HeraldEventMap {
  state: CustomEvent<HeraldStateChange>;
  open: CustomEvent<HeraldOpen>;
  message: CustomEvent<HeraldMessage>;
  gap: CustomEvent<HeraldGap>;
  error: CustomEvent<HeraldError>;
  close: CustomEvent<HeraldClose>;
  authenticated: CustomEvent<HeraldAuthenticated>;
}

/**
 * A Herald subscriber over Server-Sent Events or WebSocket that reconnects
 * with backoff, resumes after the last id it saw, reports history gaps and
 * replaces connections that went silent.
 */
export class Herald extends EventTarget {
  constructor(options?: HeraldOptions);
  /** The client's state. */
  readonly state: HeraldState;
  /** The position the client resumes after; empty until one is known. */
  readonly lastEventId: string;
  /** The topics and patterns subscribed to (a copy). */
  readonly topics: string[];
  /** The transport. */
  readonly transport: HeraldTransport;
  /** Starts connecting; does nothing unless the state is `closed`. */
  connect(): void;
  /** Closes the connection and stops reconnecting; lastEventId is kept. */
  close(): void;
  /** Adds topics or patterns; throws TypeError for an invalid one. */
  subscribe(topics: string | readonly string[]): void;
  /** Removes topics or patterns; throws TypeError for an invalid one. */
  unsubscribe(topics: string | readonly string[]): void;

  addEventListener<K extends keyof HeraldEventMap>(
    type: K,
    listener: (this: Herald, ev: HeraldEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof HeraldEventMap>(
    type: K,
    listener: (this: Herald, ev: HeraldEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/** Checks a topic or pattern against Herald's topic rules: why it is refused, or '' when valid. */
export function topicError(topic: string): string;

/** Parses a Go duration ("15s", "1m30s", "500ms") into milliseconds; 0 when not a positive duration. */
export function parseDuration(s: string): number;
