// herald.js — the browser client of Herald, a realtime pub/sub gateway.
//
// An ES module with no dependencies and no build step:
//
//   <script type="module">
//     import { Herald } from '/herald.js';
//     const h = new Herald({ topics: ['news', 'alerts.>'] });
//     h.addEventListener('message', (e) => console.log(e.detail.topic, e.detail.data));
//     h.connect();
//   </script>
//
// The wire protocols are described in docs/browser-protocol.md and the
// client itself in docs/browser-client.md. Types: /herald.d.ts.

/**
 * The state of a {@link Herald} client.
 *
 * - `connecting`: connect() was called and no subscription is confirmed yet
 *   (also an SSE client with no topics, which connects once it has one).
 * - `open`: the server confirmed the subscription; messages flow.
 * - `reconnecting`: the connection ended; the client waits for its backoff
 *   delay or is connecting again, and will resume from its last id.
 * - `closed`: not connected: before connect(), after close(), or after a
 *   refusal that retrying cannot fix.
 *
 * @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} HeraldState
 */

/**
 * Options of a {@link Herald} client. Every field is optional.
 *
 * @typedef {object} HeraldOptions
 * @property {string | URL} [url] The server's base URL (scheme, host, port);
 *   default `location.origin`. `/v1/sse` and `/v1/ws` are resolved against it.
 * @property {string | string[]} [topics] Topics or patterns (`news`,
 *   `orders.*`, `alerts.>`) to subscribe to; default none.
 * @property {'sse' | 'ws'} [transport] `sse` (Server-Sent Events through
 *   EventSource, the default) or `ws` (WebSocket).
 * @property {string} [lastEventId] Resume after this id: the first
 *   connection receives every retained message published after it.
 * @property {number} [heartbeatTimeoutFactor] A connection silent for longer
 *   than this many heartbeat intervals (the interval the server announces)
 *   is considered dead, closed and replaced; default 2, at least 1.
 * @property {number} [heartbeatInterval] Ask the server for this heartbeat
 *   interval, in milliseconds (it clamps it to 1 s – 5 min); default: the
 *   server's.
 * @property {{initial?: number, max?: number}} [backoff] Reconnect delays in
 *   milliseconds: attempt n waits a random time between 0 and
 *   min(max, initial × 2ⁿ) ("full jitter"); default 500 and 30000.
 * @property {number} [connectTimeout] Milliseconds a connection attempt may
 *   take until the server confirms the subscription; default 15000.
 * @property {boolean} [withCredentials] SSE only: send cookies on
 *   cross-origin requests (EventSource's `withCredentials`).
 */

/**
 * A message, the `detail` of a `message` event.
 *
 * @typedef {object} HeraldMessage
 * @property {string} topic The topic it was published to.
 * @property {string} id Its id: the position to resume after.
 * @property {string} data The payload as text; empty when the payload is
 *   not valid UTF-8 (then see `dataBase64`).
 * @property {string} [dataBase64] The payload in base64, present only when
 *   it is not valid UTF-8.
 * @property {string} contentType Its content type; empty when none was given.
 * @property {string} event Its event name; empty when none was given.
 * @property {string} publishTime When the server accepted it (RFC 3339, UTC).
 */

const DEFAULT_BACKOFF_INITIAL = 500;
const DEFAULT_BACKOFF_MAX = 30000;
const DEFAULT_HEARTBEAT_FACTOR = 2;
const DEFAULT_CONNECT_TIMEOUT = 15000;

// The largest exponent of the backoff, so that 2ⁿ stays finite.
const MAX_BACKOFF_EXPONENT = 30;

// The topic grammar of docs/protocol.md: 1–255 characters, tokens of
// A–Z a–z 0–9 _ - : @ separated by dots; `*` is a whole token, `>` a whole
// last token.
const TOPIC_TOKEN = /^[A-Za-z0-9_\-:@]+$/;
const TOPIC_MAX_LENGTH = 255;

// WebSocket close codes that retrying cannot fix: the server refused what
// this client sent.
const FATAL_CLOSE_CODES = new Set([1002, 1003, 1007, 1008, 1009]);

// Reasons of the WebSocket close codes of docs/browser-protocol.md.
const CLOSE_REASONS = new Map([
  [1000, 'normal'],
  [1001, 'going_away'],
  [1006, 'network'],
  [1008, 'policy_violation'],
  [1009, 'message_too_big'],
  [1011, 'internal_error'],
  [4000, 'slow_consumer'],
]);

const now = () => globalThis.performance?.now?.() ?? Date.now();

/**
 * Checks a topic or pattern against Herald's topic rules.
 *
 * @param {string} topic
 * @returns {string} why it is refused, or '' when it is valid
 */
export function topicError(topic) {
  if (typeof topic !== 'string') return 'a topic must be a string';
  if (topic.length === 0) return 'a topic must not be empty';
  if (topic.length > TOPIC_MAX_LENGTH) return `topic is longer than ${TOPIC_MAX_LENGTH} characters`;
  const tokens = topic.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '') return `topic ${JSON.stringify(topic)} has an empty token`;
    if (t === '*') continue;
    if (t === '>') {
      if (i !== tokens.length - 1) return `in ${JSON.stringify(topic)}, ">" is not the last token`;
      continue;
    }
    if (!TOPIC_TOKEN.test(t)) {
      return `topic ${JSON.stringify(topic)} has a character outside A–Z a–z 0–9 _ - . : @, or a wildcard inside a token`;
    }
  }
  return '';
}

/**
 * Parses a Go duration ("15s", "1m30s", "500ms", "1.5h") into milliseconds.
 *
 * @param {unknown} s
 * @returns {number} the duration in milliseconds, or 0 when s is not a
 *   positive duration
 */
export function parseDuration(s) {
  if (typeof s !== 'string' || s === '') return 0;
  /** @type {Record<string, number>} */
  const units = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return 0;
    total += parseFloat(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  return total > 0 ? total : 0;
}

/** @param {string | string[] | undefined} topics */
function topicList(topics) {
  if (topics === undefined || topics === null) return [];
  const list = typeof topics === 'string' ? [topics] : Array.from(topics);
  for (const t of list) {
    const err = topicError(t);
    if (err) throw new TypeError(`herald: ${err}`);
  }
  return list;
}

/** @param {unknown} n @param {string} name @param {number} def @param {number} min */
function numberOption(n, name, def, min) {
  if (n === undefined || n === null) return def;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min) {
    throw new TypeError(`herald: ${name} must be a number of at least ${min}`);
  }
  return n;
}

/** @param {string} text */
function parseJSON(text) {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

/**
 * Turns a message envelope of the wire protocol into a {@link HeraldMessage}.
 *
 * @param {any} env
 * @returns {HeraldMessage | null} null when env is no envelope
 */
function toMessage(env) {
  if (!env || typeof env.id !== 'string' || env.id === '' || typeof env.topic !== 'string') return null;
  /** @type {HeraldMessage} */
  const msg = {
    topic: env.topic,
    id: env.id,
    data: typeof env.data === 'string' ? env.data : '',
    contentType: typeof env.content_type === 'string' ? env.content_type : '',
    event: typeof env.event === 'string' ? env.event : '',
    publishTime: typeof env.publish_time === 'string' ? env.publish_time : '',
  };
  if (typeof env.data_base64 === 'string') msg.dataBase64 = env.data_base64;
  return msg;
}

/** @param {any} f */
function toGap(f) {
  return {
    topics: Array.isArray(f?.topics) ? f.topics : [],
    requestedId: typeof f?.requested_id === 'string' ? f.requested_id : '',
    firstAvailableId: typeof f?.first_available_id === 'string' ? f.first_available_id : '',
    reason: typeof f?.reason === 'string' ? f.reason : '',
  };
}

/** @param {any} f */
function toSubscribed(f) {
  return {
    topics: Array.isArray(f?.topics) ? f.topics : [],
    currentId: typeof f?.current_id === 'string' ? f.current_id : '',
    heartbeatInterval: parseDuration(f?.heartbeat_interval),
  };
}

/**
 * Builds the URL of a transport endpoint.
 *
 * @param {URL} base
 * @param {string} path
 * @param {string[]} topics
 * @param {string} lastEventId
 * @param {number} heartbeat milliseconds, 0 for the server's default
 */
function endpoint(base, path, topics, lastEventId, heartbeat) {
  const u = new URL(path, base);
  for (const t of topics) u.searchParams.append('topic', t);
  if (lastEventId) u.searchParams.set('last_event_id', lastEventId);
  if (heartbeat > 0) u.searchParams.set('heartbeat', `${Math.round(heartbeat)}ms`);
  return u;
}

// A connection reports to its client through these callbacks, each bound to
// that one connection, so that a late report from a replaced connection is
// ignored.
//
// subscribed(info)   the server confirmed a subscription
// message(env)       a message envelope
// gap(frame)         a history gap
// activity()         any traffic (heartbeats included)
// serverError(err)   an error the server reported, the connection goes on
// ready()            (WebSocket) the socket opened
// end(info)          the connection is over: {reason, message, code?, status?, fatal}

/**
 * One EventSource connection.
 */
class SSEConnection {
  /**
   * @param {URL} url
   * @param {boolean} withCredentials
   * @param {any} cb
   */
  constructor(url, withCredentials, cb) {
    this.url = url;
    this.cb = cb;
    this.closed = false;
    this.opened = false;
    /** @type {{code: string, message: string} | null} */
    this.serverErr = null;
    /** @type {AbortController | null} */
    this.probe = null;
    this.withCredentials = withCredentials;

    const es = new EventSource(url.href, { withCredentials });
    this.es = es;
    const onMessage = (/** @type {Event} */ e) => {
      // Envelope frames carry no event: line, so every message, named or
      // not, arrives as a "message" event; EventSource's own open and error
      // events are no messages.
      if (this.closed || !(e instanceof MessageEvent)) return;
      const msg = toMessage(parseJSON(e.data));
      if (!msg) {
        cb.serverError({ code: 'invalid_frame', message: `herald: a message event that is not a JSON envelope (id ${JSON.stringify(e.lastEventId)})` });
        return;
      }
      cb.message(msg);
    };
    es.addEventListener('message', onMessage);
    es.addEventListener('herald.subscribed', (e) => {
      if (!this.closed) cb.subscribed(toSubscribed(parseJSON(/** @type {MessageEvent} */ (e).data)));
    });
    es.addEventListener('herald.gap', (e) => {
      if (!this.closed) cb.gap(toGap(parseJSON(/** @type {MessageEvent} */ (e).data)));
    });
    es.addEventListener('herald.heartbeat', () => {
      if (!this.closed) cb.activity();
    });
    es.addEventListener('herald.error', (e) => {
      // Why the server is about to end the stream: the reason of the close
      // that follows, as a WebSocket's close code is.
      if (this.closed) return;
      const f = parseJSON(/** @type {MessageEvent} */ (e).data);
      this.serverErr = {
        code: typeof f?.code === 'string' ? f.code : 'error',
        message: typeof f?.message === 'string' ? f.message : '',
      };
      cb.activity();
    });
    es.addEventListener('open', (e) => {
      // A message published with the event name "open" is a MessageEvent.
      if (!(e instanceof MessageEvent)) this.opened = true;
    });
    es.addEventListener('error', (e) => {
      // A message published with the event name "error" is a MessageEvent,
      // not a failure.
      if (this.closed || e instanceof MessageEvent) return;
      // EventSource would reconnect by itself, with the id of the last event
      // it saw (even one this client does not listen to) and its own fixed
      // delay. The client resumes itself, with backoff.
      const refused = es.readyState === EventSource.CLOSED && !this.opened;
      es.close();
      if (refused) {
        this.diagnose();
        return;
      }
      const err = this.serverErr;
      cb.end({
        reason: err ? err.code : 'network',
        message: err ? err.message : this.opened ? 'the event stream ended' : 'the event stream failed to open',
        fatal: false,
      });
    });
  }

  // EventSource gave up without telling why (a status other than 200 or a
  // wrong content type): ask again with fetch to read the status and the
  // JSON error. A 4xx other than 408 and 429 is final.
  async diagnose() {
    const probe = new AbortController();
    this.probe = probe;
    let info;
    try {
      const res = await fetch(this.url.href, {
        headers: { Accept: 'text/event-stream' },
        credentials: this.withCredentials ? 'include' : 'same-origin',
        cache: 'no-store',
        signal: probe.signal,
      });
      if (res.ok) {
        probe.abort();
        info = { reason: 'network', message: 'the event stream failed to open', fatal: false, status: res.status };
      } else {
        const body = parseJSON(await res.text());
        const fatal = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
        info = {
          reason: fatal ? 'refused' : 'unavailable',
          message: typeof body?.message === 'string' ? body.message : `HTTP ${res.status}`,
          status: res.status,
          fatal,
        };
      }
    } catch (err) {
      info = { reason: 'network', message: `the event stream failed to open: ${err}`, fatal: false };
    }
    if (!this.closed) this.cb.end(info);
  }

  close() {
    this.closed = true;
    this.es.close();
    this.probe?.abort();
  }
}

/**
 * One WebSocket connection. Its topics follow the client's through
 * subscribe and unsubscribe frames.
 */
class WSConnection {
  /**
   * @param {URL} url
   * @param {string[]} topics the topics the handshake subscribes to
   * @param {any} cb
   */
  constructor(url, topics, cb) {
    this.cb = cb;
    this.closed = false;
    this.opened = false;
    /** Topics requested on this connection. */
    this.requested = new Set(topics);
    /** Whether the connection has a subscription, hence a position. */
    this.positioned = topics.length > 0;
    /** Requests awaiting an answer, in order: id → {type, topics}. */
    this.pending = new Map();
    // The handshake's subscription is answered first.
    if (topics.length > 0) this.pending.set('', { type: 'handshake', topics });
    this.seq = 0;

    const ws = new WebSocket(url.href);
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.closed) return;
      this.opened = true;
      cb.ready();
    });
    ws.addEventListener('message', (e) => {
      if (!this.closed) this.frame(e.data);
    });
    ws.addEventListener('close', (e) => {
      if (this.closed) return;
      this.closed = true;
      const code = e.code;
      const reason = CLOSE_REASONS.get(code) ?? (this.opened ? 'closed' : 'network');
      cb.end({
        reason,
        message: e.reason || (this.opened ? `the WebSocket closed with code ${code}` : 'the WebSocket failed to open'),
        code,
        fatal: FATAL_CLOSE_CODES.has(code),
      });
    });
  }

  /** @param {unknown} data */
  frame(data) {
    const cb = this.cb;
    const f = typeof data === 'string' ? parseJSON(data) : null;
    if (!f) {
      cb.serverError({ code: 'invalid_frame', message: 'herald: a WebSocket frame that is not a JSON object' });
      return;
    }
    switch (f.type) {
      case 'message': {
        const msg = toMessage(f);
        if (msg) cb.message(msg);
        else cb.serverError({ code: 'invalid_frame', message: 'herald: a message frame without topic or id' });
        return;
      }
      case 'subscribed': {
        // Answers come in the order of the requests.
        const first = this.pending.keys().next();
        if (!first.done) this.pending.delete(first.value);
        cb.subscribed(toSubscribed(f));
        return;
      }
      case 'gap':
        cb.gap(toGap(f));
        return;
      case 'heartbeat':
      case 'pong':
        cb.activity();
        return;
      case 'error': {
        const err = {
          code: typeof f.code === 'string' ? f.code : 'error',
          message: typeof f.message === 'string' ? f.message : '',
        };
        const req = typeof f.id === 'string' ? this.pending.get(f.id) : undefined;
        if (req) {
          this.pending.delete(f.id);
          // The server refused these topics: the connection does not have them.
          if (req.type === 'subscribe') for (const t of req.topics) this.requested.delete(t);
          cb.serverError({ ...err, id: f.id, request: req.type, topics: req.topics });
        } else {
          cb.serverError(typeof f.id === 'string' ? { ...err, id: f.id } : err);
        }
        return;
      }
      default:
        // Frame types newer than this client are skipped; traffic all the same.
        cb.activity();
    }
  }

  /**
   * Brings the connection's topics to the client's with subscribe and
   * unsubscribe frames. A connection that has no subscription yet starts
   * its first one after lastEventId; later changes keep the connection's
   * position, so nothing is lost or repeated.
   *
   * @param {string[]} topics
   * @param {string} lastEventId
   */
  sync(topics, lastEventId) {
    if (this.closed || !this.opened) return;
    const want = new Set(topics);
    const add = topics.filter((t) => !this.requested.has(t));
    const remove = [...this.requested].filter((t) => !want.has(t));
    if (remove.length > 0) {
      for (const t of remove) this.requested.delete(t);
      this.send('unsubscribe', remove, '');
    }
    if (add.length > 0) {
      for (const t of add) this.requested.add(t);
      this.send('subscribe', add, this.positioned ? '' : lastEventId);
      this.positioned = true;
    }
  }

  /**
   * @param {'subscribe' | 'unsubscribe'} type
   * @param {string[]} topics
   * @param {string} lastEventId
   */
  send(type, topics, lastEventId) {
    const id = `${type === 'subscribe' ? 's' : 'u'}${++this.seq}`;
    /** @type {Record<string, unknown>} */
    const frame = { type, topics, id };
    if (lastEventId) frame.last_event_id = lastEventId;
    this.pending.set(id, { type, topics });
    this.ws.send(JSON.stringify(frame));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(1000, 'client closed');
  }
}

/**
 * A Herald subscriber that keeps a subscription alive over Server-Sent
 * Events or WebSocket: it reconnects with exponential backoff and full
 * jitter, resumes after the last id it saw so that nothing retained is
 * missed, reports history gaps, and replaces a connection that has gone
 * silent for longer than its heartbeat timeout.
 *
 * Events (all `CustomEvent`s; the payload is in `detail`):
 *
 * - `state` — `{state, previous}`: the {@link HeraldState} changed.
 * - `open` — `{transport, topics, currentId, heartbeatInterval}`: a
 *   connection's subscription is confirmed (`heartbeatInterval` in ms).
 * - `message` — a {@link HeraldMessage}.
 * - `gap` — `{topics, requestedId, firstAvailableId, reason}`: messages of
 *   these topics after `requestedId` may be missing (`REASON_TRUNCATED`:
 *   retention dropped them; `REASON_EPOCH_CHANGED`: the server's history
 *   restarted).
 * - `error` — `{code, message, fatal, status?, id?, request?, topics?}`:
 *   something failed. With `fatal` the client has stopped (state `closed`);
 *   otherwise it carries on or reconnects by itself.
 * - `close` — `{reason, message, code?, reconnect}`: a connection ended;
 *   `reconnect` tells whether the client will connect again. `reason` is
 *   `client` after close(), `going_away` when the server shut down,
 *   `slow_consumer`, `heartbeat_timeout`, `connect_timeout`, `network`,
 *   `refused`, `unavailable`, `resubscribe` (SSE topics changed), or the
 *   name of a WebSocket close code.
 *
 * A client is used from the page's single thread; it holds no resources
 * until connect() and none after close().
 */
export class Herald extends EventTarget {
  /** @type {URL} */ #base;
  /** @type {string[]} */ #topics;
  /** @type {'sse' | 'ws'} */ #transport;
  /** @type {string} */ #lastEventId;
  /** @type {number} */ #factor;
  /** @type {number} */ #heartbeatRequest;
  /** @type {number} */ #backoffInitial;
  /** @type {number} */ #backoffMax;
  /** @type {number} */ #connectTimeout;
  /** @type {boolean} */ #withCredentials;

  /** @type {HeraldState} */ #state = 'closed';
  /** @type {SSEConnection | WSConnection | null} */ #conn = null;
  #gen = 0; // the current connection's number; reports of others are ignored
  #confirmed = false; // the current connection's subscription is confirmed
  #attempt = 0; // failed attempts since the last confirmed subscription
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #watchdog;
  #deadline = 0; // when the current connection counts as dead
  #silence = 0; // how long the confirmed connection may stay silent, ms
  #onOnline = () => {
    if (this.#state === 'reconnecting' && this.#retryTimer !== undefined) this.#dial();
  };

  /**
   * @param {HeraldOptions} [options]
   */
  constructor(options = {}) {
    super();
    const base = options.url ?? globalThis.location?.origin;
    if (!base) throw new TypeError('herald: options.url is required outside a page');
    this.#base = new URL(String(base));
    this.#topics = [...new Set(topicList(options.topics))];
    const transport = options.transport ?? 'sse';
    if (transport !== 'sse' && transport !== 'ws') {
      throw new TypeError(`herald: transport must be "sse" or "ws", not ${JSON.stringify(transport)}`);
    }
    this.#transport = transport;
    this.#lastEventId = options.lastEventId ? String(options.lastEventId) : '';
    this.#factor = numberOption(options.heartbeatTimeoutFactor, 'heartbeatTimeoutFactor', DEFAULT_HEARTBEAT_FACTOR, 1);
    this.#heartbeatRequest = numberOption(options.heartbeatInterval, 'heartbeatInterval', 0, 0);
    this.#backoffInitial = numberOption(options.backoff?.initial, 'backoff.initial', DEFAULT_BACKOFF_INITIAL, 0);
    this.#backoffMax = numberOption(options.backoff?.max, 'backoff.max', DEFAULT_BACKOFF_MAX, 0);
    this.#connectTimeout = numberOption(options.connectTimeout, 'connectTimeout', DEFAULT_CONNECT_TIMEOUT, 1);
    this.#withCredentials = Boolean(options.withCredentials);
  }

  /** The client's state. @returns {HeraldState} */
  get state() {
    return this.#state;
  }

  /**
   * The position the client resumes after: the id of the last message it
   * delivered or, before any message, the position its first subscription
   * started at. Empty until one is known. Store it to resume in a later
   * page (options.lastEventId).
   *
   * @returns {string}
   */
  get lastEventId() {
    return this.#lastEventId;
  }

  /** The topics and patterns subscribed to (a copy). @returns {string[]} */
  get topics() {
    return [...this.#topics];
  }

  /** The transport, `sse` or `ws`. @returns {'sse' | 'ws'} */
  get transport() {
    return this.#transport;
  }

  /**
   * Starts connecting. Does nothing unless the state is `closed`. After
   * close() or a fatal error, connect() resumes from lastEventId.
   */
  connect() {
    if (this.#state !== 'closed') return;
    this.#attempt = 0;
    globalThis.addEventListener?.('online', this.#onOnline);
    this.#setState('connecting');
    this.#dial();
  }

  /**
   * Closes the connection and stops reconnecting; the state becomes
   * `closed`. lastEventId is kept, so a later connect() resumes.
   */
  close() {
    if (this.#state === 'closed') return;
    const hadConn = this.#conn !== null;
    this.#stop();
    globalThis.removeEventListener?.('online', this.#onOnline);
    if (hadConn) this.#emit('close', { reason: 'client', message: 'closed by the client', reconnect: false });
    this.#setState('closed');
  }

  /**
   * Adds topics or patterns to the subscription. Over WebSocket the open
   * connection subscribes to them in place; over SSE the client reconnects
   * with the new set, resuming after lastEventId. Messages of an added topic
   * published after the current position are delivered too.
   *
   * Topics the server refuses over WebSocket are dropped again, and an
   * `error` event names them.
   *
   * @param {string | string[]} topics
   * @throws {TypeError} when a topic breaks Herald's topic rules
   */
  subscribe(topics) {
    const add = topicList(topics).filter((t) => !this.#topics.includes(t));
    if (add.length === 0) return;
    this.#topics = [...new Set([...this.#topics, ...add])];
    this.#topicsChanged();
  }

  /**
   * Removes topics or patterns from the subscription, as subscribe() adds
   * them. Over SSE, removing the last topic closes the connection until a
   * topic is added again (state `connecting`).
   *
   * @param {string | string[]} topics
   * @throws {TypeError} when a topic breaks Herald's topic rules
   */
  unsubscribe(topics) {
    const remove = new Set(topicList(topics));
    const kept = this.#topics.filter((t) => !remove.has(t));
    if (kept.length === this.#topics.length) return;
    this.#topics = kept;
    this.#topicsChanged();
  }

  #topicsChanged() {
    if (this.#state === 'closed') return;
    if (this.#transport === 'ws') {
      if (this.#conn instanceof WSConnection) this.#conn.sync(this.#topics, this.#lastEventId);
      return;
    }
    // EventSource cannot change its request: reconnect now, resuming.
    if (this.#conn !== null) {
      const wasOpen = this.#confirmed;
      this.#stop();
      if (wasOpen) {
        this.#emit('close', { reason: 'resubscribe', message: 'the topics changed', reconnect: true });
        this.#setState('reconnecting');
      }
    }
    this.#dial();
  }

  // Opens a connection now.
  #dial() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#transport === 'sse' && this.#topics.length === 0) {
      // Nothing to subscribe to: wait for subscribe().
      this.#setState('connecting');
      return;
    }
    const gen = ++this.#gen;
    this.#confirmed = false;
    this.#silence = 0;
    const live = () => gen === this.#gen;
    const cb = {
      subscribed: (/** @type {any} */ info) => live() && this.#onSubscribed(info),
      message: (/** @type {HeraldMessage} */ msg) => live() && this.#onMessage(msg),
      gap: (/** @type {any} */ gap) => live() && (this.#touch(), this.#emit('gap', gap)),
      activity: () => live() && this.#touch(),
      serverError: (/** @type {any} */ err) => live() && this.#onServerError(err),
      ready: () => live() && this.#onReady(),
      end: (/** @type {any} */ info) => live() && this.#onEnd(info),
    };
    this.#deadline = now() + this.#connectTimeout;
    this.#armWatchdog();
    try {
      if (this.#transport === 'sse') {
        const url = endpoint(this.#base, '/v1/sse', this.#topics, this.#lastEventId, this.#heartbeatRequest);
        url.searchParams.set('envelope', '1');
        this.#conn = new SSEConnection(url, this.#withCredentials, cb);
      } else {
        const url = endpoint(this.#base, '/v1/ws', this.#topics, this.#topics.length > 0 ? this.#lastEventId : '', this.#heartbeatRequest);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        this.#conn = new WSConnection(url, this.#topics, cb);
      }
    } catch (err) {
      // The browser refuses the URL itself (a ws: URL from an https: page,
      // a blocked port): retrying cannot help.
      this.#onEnd({ reason: 'refused', message: `cannot connect to ${this.#base.origin}: ${err}`, fatal: true });
    }
  }

  // The WebSocket opened: catch up with topic changes made while it was
  // connecting. A socket with no topics is open as it is: no subscription
  // to confirm.
  #onReady() {
    const conn = /** @type {WSConnection} */ (this.#conn);
    conn.sync(this.#topics, this.#lastEventId);
    if (!conn.positioned) this.#confirm({ topics: [], currentId: '', heartbeatInterval: 0 });
  }

  /** @param {{topics: string[], currentId: string, heartbeatInterval: number}} info */
  #onSubscribed(info) {
    // Before any message, the subscription's start is the position to
    // resume from. A resumed subscription's current_id is not: messages
    // before it may still be on their way.
    if (this.#lastEventId === '' && info.currentId) this.#lastEventId = info.currentId;
    this.#confirm(info);
  }

  /** @param {{topics: string[], currentId: string, heartbeatInterval: number}} info */
  #confirm(info) {
    const first = !this.#confirmed;
    this.#confirmed = true;
    if (info.heartbeatInterval > 0) this.#silence = info.heartbeatInterval * this.#factor;
    this.#touch();
    // The deadline may have moved closer (connect timeout → heartbeat).
    this.#armWatchdog();
    if (!first) return;
    this.#attempt = 0;
    this.#setState('open');
    this.#emit('open', { transport: this.#transport, ...info });
  }

  /** @param {{code: string, message: string, request?: string, topics?: string[]}} err */
  #onServerError(err) {
    this.#touch();
    if (err.request === 'subscribe' && err.topics) {
      // Refused topics would be refused again on every reconnect.
      const refused = new Set(err.topics);
      this.#topics = this.#topics.filter((t) => !refused.has(t));
    }
    this.#emit('error', { ...err, fatal: false });
  }

  /** @param {HeraldMessage} msg */
  #onMessage(msg) {
    this.#lastEventId = msg.id;
    this.#touch();
    this.#emit('message', msg);
  }

  /** @param {{reason: string, message: string, code?: number, status?: number, fatal: boolean}} info */
  #onEnd(info) {
    this.#stop();
    const { fatal, ...rest } = info;
    if (fatal) {
      globalThis.removeEventListener?.('online', this.#onOnline);
      /** @type {Record<string, unknown>} */
      const err = { code: info.reason, message: info.message, fatal: true };
      if (info.status) err.status = info.status;
      if (info.code) err.closeCode = info.code;
      this.#emit('error', err);
      this.#emit('close', { ...rest, reconnect: false });
      this.#setState('closed');
      return;
    }
    this.#emit('close', { ...rest, reconnect: true });
    this.#setState('reconnecting');
    const cap = Math.min(this.#backoffMax, this.#backoffInitial * 2 ** Math.min(this.#attempt, MAX_BACKOFF_EXPONENT));
    this.#attempt++;
    this.#retryTimer = setTimeout(() => this.#dial(), Math.random() * cap);
  }

  // Notes traffic on the current connection: it is alive.
  #touch() {
    if (this.#confirmed && this.#silence > 0) this.#deadline = now() + this.#silence;
  }

  // One timer per connection, re-armed lazily: traffic only moves the
  // deadline, and the timer, when it fires early, sleeps again until it.
  #armWatchdog() {
    clearTimeout(this.#watchdog);
    const wait = Math.max(0, this.#deadline - now());
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#conn === null) return;
      if (!this.#confirmed || this.#silence > 0) {
        if (now() < this.#deadline) {
          this.#armWatchdog();
          return;
        }
        const timeout = this.#confirmed ? 'heartbeat_timeout' : 'connect_timeout';
        const message = this.#confirmed
          ? `no traffic for ${Math.round(this.#silence)} ms (${this.#factor} heartbeat intervals)`
          : `no subscription after ${this.#connectTimeout} ms`;
        this.#emit('error', { code: timeout, message, fatal: false });
        this.#onEnd({ reason: timeout, message, fatal: false });
        return;
      }
      // Confirmed, but the interval is unknown yet (a WebSocket with no
      // topics): check again later.
      this.#deadline = now() + this.#connectTimeout;
      this.#armWatchdog();
    }, wait);
  }

  // Closes the current connection and cancels the timers, without events.
  #stop() {
    this.#gen++;
    this.#conn?.close();
    this.#conn = null;
    this.#confirmed = false;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** @param {HeraldState} state */
  #setState(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#emit('state', { state, previous });
  }

  /** @param {string} type @param {object} detail */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
