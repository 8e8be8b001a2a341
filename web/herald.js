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
 * @property {boolean} [withCredentials] SSE only: send cookies (such as
 *   `herald_token`) on cross-origin requests (EventSource's
 *   `withCredentials`); the server must list the page's origin in
 *   `--allowed-origins`. WebSocket handshakes carry the server's cookies by
 *   themselves.
 * @property {HeraldToken} [token] The credential, sent as the
 *   `access_token` query parameter of every connection: a token, or a
 *   function returning the current one (or a promise of it), called before
 *   every connection and, over WebSocket, before the token expires to
 *   renew it in place. Default none: the server sees the `herald_token`
 *   cookie, if the application set one.
 */

/**
 * A credential for a {@link Herald} client: a token (a JWT), or a function
 * that returns the current token or a promise of it. An empty result means
 * none. The function should return a token that is still valid for a while
 * (cache it until shortly before its expiry); the client calls it before
 * every connection, so it must not throw for transient failures it can
 * retry itself — a thrown error or rejected promise counts as a failed
 * connection attempt and is retried with backoff.
 *
 * @typedef {string | (() => string | null | undefined | Promise<string | null | undefined>)} HeraldToken
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

// The WebSocket close code of an expired credential.
const CLOSE_TOKEN_EXPIRED = 4001;

// Why a connection ends when its credential expired: the SSE herald.error
// code and the WebSocket close reason.
const TOKEN_EXPIRED = 'token_expired';

// A WebSocket renews its token this long before it expires at the most,
// and never earlier than halfway through the token's remaining life.
const REFRESH_MARGIN_MAX = 30000;

// The longest delay setTimeout keeps (2³¹ − 1 ms); longer waits are taken
// in steps.
const MAX_TIMER_DELAY = 2 ** 31 - 1;

// Reasons of the WebSocket close codes of docs/browser-protocol.md.
const CLOSE_REASONS = new Map([
  [1000, 'normal'],
  [1001, 'going_away'],
  [1006, 'network'],
  [1008, 'policy_violation'],
  [1009, 'message_too_big'],
  [1011, 'internal_error'],
  [4000, 'slow_consumer'],
  [CLOSE_TOKEN_EXPIRED, TOKEN_EXPIRED],
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
 * @param {string} token the credential, '' for none
 */
function endpoint(base, path, topics, lastEventId, heartbeat, token) {
  const u = new URL(path, base);
  for (const t of topics) u.searchParams.append('topic', t);
  if (lastEventId) u.searchParams.set('last_event_id', lastEventId);
  if (heartbeat > 0) u.searchParams.set('heartbeat', `${Math.round(heartbeat)}ms`);
  if (token) u.searchParams.set('access_token', token);
  return u;
}

/**
 * Reads the expiry of a JWT (its exp claim) without verifying it.
 *
 * @param {string} token
 * @returns {number} when it expires, in ms since the epoch; 0 when unknown
 */
function tokenExpiry(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return 0;
  try {
    const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
    const exp = claims?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/**
 * Asks again with fetch why a request failed before its stream opened:
 * browsers hide the status of a refused EventSource request and WebSocket
 * handshake. A status that explains says why (a 4xx other than 408 and 429
 * is final, and so is a 429 for too many topics); any other answer counts
 * as a network failure.
 *
 * @param {URL} url the request, over http(s)
 * @param {boolean} withCredentials whether to send cookies cross-origin
 * @param {AbortSignal} signal ends the probe
 * @param {(status: number) => boolean} explains whether a failure status is the server's refusal
 * @param {string} failed the message of a network failure
 * @returns {Promise<{reason: string, message: string, status?: number, serverReason?: string, fatal: boolean}>}
 */
async function diagnose(url, withCredentials, signal, explains, failed) {
  try {
    const res = await fetch(url.href, {
      headers: { Accept: 'text/event-stream' },
      credentials: withCredentials ? 'include' : 'same-origin',
      cache: 'no-store',
      signal,
    });
    if (res.ok || !explains(res.status)) {
      await res.body?.cancel();
      return { reason: 'network', message: failed, fatal: false, status: res.status };
    }
    const body = parseJSON(await res.text());
    // The google.rpc.ErrorInfo detail names the refusal's reason
    // (token_expired, invalid_token, too_many_topics, …).
    const detail = Array.isArray(body?.details) ? body.details.find((/** @type {any} */ d) => typeof d?.reason === 'string') : null;
    // A 429 is temporary, except a request for more topics than allowed:
    // asking again would be refused again.
    const fatal = res.status >= 400 && res.status < 500 && res.status !== 408 &&
      (res.status !== 429 || detail?.reason === 'TOO_MANY_TOPICS');
    /** @type {{reason: string, message: string, status: number, serverReason?: string, fatal: boolean}} */
    const info = {
      reason: fatal ? 'refused' : 'unavailable',
      message: typeof body?.message === 'string' ? body.message : `HTTP ${res.status}`,
      status: res.status,
      fatal,
    };
    if (detail) info.serverReason = detail.reason;
    return info;
  } catch (err) {
    return { reason: 'network', message: `${failed}: ${err}`, fatal: false };
  }
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
// authenticated(ms)  (WebSocket) the server took a new token, which expires
//                    then (ms since the epoch, 0 for never)
// end(info)          the connection is over: {reason, message, code?, status?, serverReason?, fatal}

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
  // wrong content type): ask again to read the status and the JSON error.
  async diagnose() {
    const probe = new AbortController();
    this.probe = probe;
    const info = await diagnose(this.url, this.withCredentials, probe.signal, () => true, 'the event stream failed to open');
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
   * @param {boolean} withCredentials whether a probe of a failed handshake
   *   sends cookies cross-origin
   * @param {any} cb
   */
  constructor(url, topics, withCredentials, cb) {
    this.url = url;
    this.withCredentials = withCredentials;
    /** @type {AbortController | null} */
    this.probe = null;
    this.cb = cb;
    this.closed = false;
    this.opened = false;
    /** Topics requested on this connection. */
    this.requested = new Set(topics);
    /** Whether the connection has a subscription, hence a position. */
    this.positioned = topics.length > 0;
    /** Requests awaiting an answer, in order: id → {type, topics, token?}. */
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
      if (!this.opened) {
        this.diagnose(code);
        return;
      }
      const reason = CLOSE_REASONS.get(code) ?? 'closed';
      cb.end({
        reason,
        message: e.reason || `the WebSocket closed with code ${code}`,
        code,
        fatal: FATAL_CLOSE_CODES.has(code),
      });
    });
  }

  /**
   * The handshake failed, and browsers do not say why (close code 1006):
   * ask again over HTTP. The server answers a request that is no WebSocket
   * handshake with 400, so only a refusal of the credential (401), of the
   * origin or topics (403) or a temporary one (408, 429, 5xx) explains the
   * failure.
   *
   * @param {number} code the close code
   */
  async diagnose(code) {
    const probe = new AbortController();
    this.probe = probe;
    const url = new URL(this.url);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    const explains = (/** @type {number} */ s) => s === 401 || s === 403 || s === 408 || s === 429 || s >= 500;
    const info = await diagnose(url, this.withCredentials, probe.signal, explains, 'the WebSocket failed to open');
    if (!probe.signal.aborted) this.cb.end({ ...info, code });
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
        for (const [id, req] of this.pending) {
          if (req.type === 'auth') continue;
          this.pending.delete(id);
          break;
        }
        cb.subscribed(toSubscribed(f));
        return;
      }
      case 'authenticated': {
        const req = typeof f.id === 'string' ? this.pending.get(f.id) : undefined;
        if (req?.type !== 'auth') {
          cb.serverError({ code: 'invalid_frame', message: 'herald: an authenticated frame that answers no auth request' });
          return;
        }
        this.pending.delete(f.id);
        const expires = typeof f.expires_at === 'string' ? Date.parse(f.expires_at) : 0;
        cb.authenticated(req.token, Number.isFinite(expires) ? expires : 0);
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
        /** @type {Record<string, unknown>} */
        const err = {
          code: typeof f.code === 'string' ? f.code : 'error',
          message: typeof f.message === 'string' ? f.message : '',
        };
        if (typeof f.reason === 'string') err.reason = f.reason;
        if (typeof f.id === 'string') err.id = f.id;
        const req = typeof f.id === 'string' ? this.pending.get(f.id) : undefined;
        if (req) {
          this.pending.delete(f.id);
          err.request = req.type;
          // The server refused these topics: the connection does not have them.
          if (req.type === 'subscribe') for (const t of req.topics) this.requested.delete(t);
          if (req.type !== 'auth') err.topics = req.topics;
        }
        cb.serverError(err);
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

  /**
   * Replaces the connection's token; the server answers with an
   * authenticated or an error frame.
   *
   * @param {string} token
   */
  auth(token) {
    if (this.closed || !this.opened) return;
    const id = `a${++this.seq}`;
    this.pending.set(id, { type: 'auth', topics: [], token });
    this.ws.send(JSON.stringify({ type: 'auth', token, id }));
  }

  close() {
    this.probe?.abort();
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
 * - `error` — `{code, message, fatal, status?, reason?, id?, request?,
 *   topics?}`: something failed. With `fatal` the client has stopped
 *   (state `closed`); otherwise it carries on or reconnects by itself.
 *   `token_error`: the token function failed; `unauthenticated`: the
 *   server refused the token (the client asks the token function again
 *   after the backoff delay).
 * - `close` — `{reason, message, code?, status?, reconnect}`: a connection
 *   ended; `reconnect` tells whether the client will connect again.
 *   `reason` is `client` after close(), `going_away` when the server shut
 *   down, `slow_consumer`, `token_expired` (the client reconnects at once
 *   with a fresh token), `heartbeat_timeout`, `connect_timeout`, `network`,
 *   `refused`, `unavailable`, `unauthenticated`, `token_error`,
 *   `resubscribe` (SSE topics changed), or the name of a WebSocket close
 *   code.
 * - `authenticated` — `{expiresAt}`: the open WebSocket renewed its token
 *   in place; `expiresAt` is when the new one expires (RFC 3339, UTC), or
 *   empty when it does not.
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
  /** @type {HeraldToken | undefined} */ #token;

  /** @type {HeraldState} */ #state = 'closed';
  /** @type {SSEConnection | WSConnection | null} */ #conn = null;
  #gen = 0; // the current connection's number; reports of others are ignored
  #confirmed = false; // the current connection's subscription is confirmed
  #attempt = 0; // failed attempts since the last confirmed subscription
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #watchdog;
  #deadline = 0; // when the current connection counts as dead
  #silence = 0; // how long the confirmed connection may stay silent, ms
  #usedToken = ''; // the token the current connection presented last
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #refreshTimer;
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
    const token = options.token ?? undefined;
    if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
      throw new TypeError('herald: token must be a string or a function returning one');
    }
    this.#token = token;
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

  // Starts a connection attempt: gets the token, then connects. expired
  // is the token the previous connection ended with for its expiry, if
  // any: a token function that returns it again is asked again after the
  // backoff delay instead.
  #dial(expired = '') {
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
    // The connect timeout covers getting the token too.
    this.#deadline = now() + this.#connectTimeout;
    this.#armWatchdog();
    this.#withToken(gen, (token) => {
      if (expired && token === expired) this.#tokenFailed('the token function returned the token that expired');
      else this.#open(gen, token);
    });
  }

  /**
   * Gets the current token from the token option and hands it to use
   * (synchronously unless the option returns a promise), unless the
   * connection attempt gen was replaced meanwhile. A token function that
   * throws or rejects ends the attempt.
   *
   * @param {number} gen
   * @param {(token: string) => void} use
   */
  #withToken(gen, use) {
    const fail = (/** @type {unknown} */ err) => gen === this.#gen && this.#tokenFailed(`the token function failed: ${err}`);
    /** @type {unknown} */
    let result;
    try {
      const source = this.#token;
      result = typeof source === 'function' ? source() : source;
    } catch (err) {
      fail(err);
      return;
    }
    const got = (/** @type {unknown} */ t) => gen === this.#gen && use(t ? String(t) : '');
    if (result instanceof Promise || typeof (/** @type {any} */ (result)?.then) === 'function') {
      Promise.resolve(result).then(got, fail);
    } else {
      got(result);
    }
  }

  /**
   * The token function failed to give a usable token. Before a
   * connection, the attempt fails and is retried after the backoff delay;
   * on an open WebSocket, which was to renew its token, the connection
   * goes on until the token expires.
   *
   * @param {string} message
   */
  #tokenFailed(message) {
    this.#emit('error', { code: 'token_error', message, fatal: false });
    if (!this.#confirmed) this.#onEnd({ reason: 'token_error', message, fatal: false });
  }

  /**
   * Opens connection attempt gen with token ('' for none).
   *
   * @param {number} gen
   * @param {string} token
   */
  #open(gen, token) {
    const live = () => gen === this.#gen;
    const cb = {
      subscribed: (/** @type {any} */ info) => live() && this.#onSubscribed(info),
      message: (/** @type {HeraldMessage} */ msg) => live() && this.#onMessage(msg),
      gap: (/** @type {any} */ gap) => live() && (this.#touch(), this.#emit('gap', gap)),
      activity: () => live() && this.#touch(),
      serverError: (/** @type {any} */ err) => live() && this.#onServerError(err),
      ready: () => live() && this.#onReady(),
      authenticated: (/** @type {string} */ t, /** @type {number} */ expires) => live() && this.#onAuthenticated(t, expires),
      end: (/** @type {any} */ info) => live() && this.#onEnd(info),
    };
    this.#usedToken = token;
    try {
      if (this.#transport === 'sse') {
        const url = endpoint(this.#base, '/v1/sse', this.#topics, this.#lastEventId, this.#heartbeatRequest, token);
        url.searchParams.set('envelope', '1');
        this.#conn = new SSEConnection(url, this.#withCredentials, cb);
      } else {
        const url = endpoint(this.#base, '/v1/ws', this.#topics, this.#topics.length > 0 ? this.#lastEventId : '', this.#heartbeatRequest, token);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        this.#conn = new WSConnection(url, this.#topics, this.#withCredentials, cb);
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
    this.#scheduleRefresh(tokenExpiry(this.#usedToken));
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

  /**
   * The WebSocket server took a new token.
   *
   * @param {string} token
   * @param {number} expires when it expires (ms since the epoch), 0 never
   */
  #onAuthenticated(token, expires) {
    this.#usedToken = token;
    this.#touch();
    this.#emit('authenticated', { expiresAt: expires ? new Date(expires).toISOString() : '' });
    this.#scheduleRefresh(expires);
  }

  /**
   * Over WebSocket with a token function, renews the connection's token
   * in place (an auth frame) before it expires, so that the connection and
   * its subscription go on: halfway through the token's remaining life, or
   * REFRESH_MARGIN_MAX before its end if that is later. Should the renewal
   * fail or come too late, the server closes the connection at the
   * expiry and the client reconnects with a fresh token.
   *
   * @param {number} expires when the token expires (ms since the epoch);
   *   0 when it does not, or is unknown
   */
  #scheduleRefresh(expires) {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    const remaining = expires - Date.now();
    if (this.#transport !== 'ws' || typeof this.#token !== 'function' || !expires || remaining <= 0) return;
    const at = Date.now() + Math.max(remaining / 2, remaining - REFRESH_MARGIN_MAX);
    const gen = this.#gen;
    const wait = () => {
      const left = at - Date.now();
      if (left > 0) {
        this.#refreshTimer = setTimeout(wait, Math.min(left, MAX_TIMER_DELAY));
        return;
      }
      this.#refreshTimer = undefined;
      this.#withToken(gen, (token) => {
        // The same token would gain nothing: the connection then ends at
        // its expiry and the client reconnects.
        if (token && token !== this.#usedToken && this.#conn instanceof WSConnection) this.#conn.auth(token);
      });
    };
    wait();
  }

  /** @param {{reason: string, message: string, code?: number, status?: number, serverReason?: string, fatal: boolean}} info */
  #onEnd(info) {
    const tokenFunction = typeof this.#token === 'function';
    // A confirmed connection whose token expired reconnects at once, with
    // a fresh token.
    const renew = info.reason === TOKEN_EXPIRED && this.#confirmed && tokenFunction;
    const expired = this.#usedToken;
    this.#stop();
    const { fatal: refused, serverReason, ...rest } = info;
    // A refused token is final unless the token function may give one
    // that is accepted.
    const retryToken = refused && info.status === 401 && tokenFunction;
    const fatal = refused && !retryToken;
    /** @type {Record<string, unknown>} */
    const err = { code: info.reason, message: info.message, fatal };
    if (info.status) err.status = info.status;
    if (serverReason) err.reason = serverReason;
    if (retryToken) {
      rest.reason = 'unauthenticated';
      this.#emit('error', { ...err, code: 'unauthenticated' });
    }
    if (fatal) {
      globalThis.removeEventListener?.('online', this.#onOnline);
      if (info.code) err.closeCode = info.code;
      this.#emit('error', err);
      this.#emit('close', { ...rest, reconnect: false });
      this.#setState('closed');
      return;
    }
    this.#emit('close', { ...rest, reconnect: true });
    this.#setState('reconnecting');
    if (renew) this.#dial(expired);
    else this.#retryLater();
  }

  // Connects again after the backoff delay.
  #retryLater() {
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
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
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
