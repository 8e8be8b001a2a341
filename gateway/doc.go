// Package gateway serves Herald's HTTP API: the JSON mapping of
// herald.v1.PubSubService, a raw-body publish endpoint, health, readiness and
// metrics. New returns one http.Handler for all of it; the server mounts it
// on its HTTP port (:8080) beside the Server-Sent Events, WebSocket and page
// handlers.
//
// # Routes
//
//	POST /v1/publish             PublishRequest as JSON → PublishResponse
//	GET  /v1/subscribe           ?topics=a&topics=b&last_event_id=… → stream
//	POST /v1/topics/{topic}      raw body published as the message data
//	GET  /healthz                200 {"status":"ok"} while the process runs
//	GET  /readyz                 200 {"status":"ready"} or 503 {"status":"not ready"}
//	GET  /metrics                Prometheus exposition
//
// Any other path answers 404 and a known path with another method 405 with
// an Allow header, both with the JSON error body below. /healthz, /readyz
// and /metrics also answer HEAD.
//
// /v1/publish and /v1/subscribe are served by grpc-gateway on a real gRPC
// client connection to Herald's own service, so they behave exactly as the
// gRPC API does. Every call made to the service, from these routes and from
// the raw publish route alike, carries the outgoing metadata
// "x-herald-transport: gateway" and "x-herald-client-addr: <host:port>",
// the HTTP client's address, by which the service applies its per-address
// limits (it believes that metadata on its in-process listener, and on
// calls that carry a relay credential, as a bridge's do; see package
// server); HTTP headers that would map to metadata in the reserved
// "x-herald-" namespace are dropped, so a client cannot name another
// transport or address, nor present a relay credential. The
// Authorization header is passed on as "authorization" metadata, and the
// other standard HTTP headers as "grpcgateway-<name>", as grpc-gateway does.
//
// # Credentials
//
// The service authenticates every call (see package server): a token or
// API key travels as "Authorization: Bearer …". On GET /v1/subscribe only,
// a browser may instead send the herald_token cookie, used when there is
// no Authorization header. The publish routes never accept the cookie:
// browsers send cookies with cross-site requests, so a cookie that allowed
// publishing would let any web page publish as its holder (cross-site
// request forgery). A publish with only the cookie is 401.
//
// With Config.Auth the gateway checks the credential itself first, before
// anything else of the request is read or checked: a request without a
// valid one (absent where required, invalid, or expired, even within the
// clock leeway), and a publish without any credential, is answered 401 at
// once, not 400 or 413, and the body of such a publish is never read. Over
// HTTP/1.1 its connection is then closed, so that what remains of the body
// is not read either; over HTTP/2 its stream is reset. The service still
// checks every call in full.
//
// # Bounds on requests
//
// A publish body is read within Config.BodyReadTimeout (30 seconds by
// default), counted from when the request reaches the gateway: a body
// that has not arrived by then is refused with 408 (code 4,
// DEADLINE_EXCEEDED), and over HTTP/1.1 its connection closed. The bound
// covers the body only, not the call to the service that follows. A raw
// body is buffered as it arrives: at most 64 KiB is reserved ahead of the
// bytes received, whatever Content-Length announces.
//
// With Config.Limits (a bridge, whose calls all reach its upstream over
// one connection) the gateway applies them itself, after the credential:
// a subscribe request counts against the subscribe rate of the client's
// connection and takes a connection slot for the client's address until
// its stream ends; a publish counts against the publish rate of the
// client's token subject or API key (of its address when anonymous).
// Refusals are 429 with Retry-After where waiting helps.
//
// # JSON
//
// Requests and responses use protojson with the proto field names
// (publish_time, content_type, last_event_id); input accepts the lowerCamel
// spellings as well. Every scalar, enum and repeated field of a response is
// present, with its zero value when unset ("duplicate": false, "event": ""),
// so that clients can rely on one shape; an unset message field (such as a
// timestamp) is null, and of a oneof only the branch that is set appears.
// bytes fields (data) are base64. Unknown fields in a request body
// are refused with 400, so that a misspelt idempotency_key cannot silently
// turn a safe retry into a duplicate.
//
// The JSON body of /v1/publish may be at most the base64 size of
// Config.MaxMessageSize plus 64 KiB for the other fields; a larger body is
// refused with 413. The service itself enforces the message size limit on
// the decoded data (RESOURCE_EXHAUSTED, 429).
//
// # Subscribe streams
//
// GET /v1/subscribe answers 200 with Content-Type application/json and
// streams one JSON object per line (newline-delimited JSON), each
// {"result":{…SubscribeResponse…}}, for example
//
//	{"result":{"subscribed":{"topics":["news"],"current_id":"…","heartbeat_interval":"15s"}}}
//	{"result":{"message":{"topic":"news","id":"…","data":"aGk=","content_type":"","event":"","publish_time":"…"}}}
//
// The response headers are sent and flushed as soon as the service has
// accepted the subscription, before any frame, so `curl -N` and browser
// fetch() see the response at once. When the stream fails after that, the
// last line is {"error":{"code":<gRPC code>,"message":"…","details":[]}} and
// the status stays 200; when the service refuses the subscription before
// accepting it, the response carries the mapped HTTP status and the same
// {"error":{…}} line as its body. A slow reader's stream ends with code 8
// (RESOURCE_EXHAUSTED); a server shutting down ends it with code 14
// (UNAVAILABLE); a stream whose token expires ends with code 16
// (UNAUTHENTICATED), "token expired: reconnect with a fresh token and
// resume from the last event id". Either way the client reconnects with
// the id of the last message it received.
//
// The resume position is the last_event_id (or lastEventId) query
// parameter; when neither is present, the Last-Event-ID request header is
// used instead. Unknown query parameters are ignored on this route; a
// malformed query, or one that is not UTF-8, is refused with 400.
//
// # Raw publish
//
// POST /v1/topics/{topic} publishes the request body, byte for byte, as the
// message data, so `curl -d '{"hello":"world"}' localhost:8080/v1/topics/news`
// works without base64. The request's Content-Type header, exactly as sent,
// becomes the message's content type (no header: empty). Note that curl -d
// sends "application/x-www-form-urlencoded" unless told otherwise
// (-H 'Content-Type: application/json'); that value is kept as sent. The
// query parameters event and idempotency_key set those fields, each at most
// once; the Idempotency-Key header is accepted too, and must agree with the
// query parameter when both are given. Other query parameters, and a topic,
// content type, event or key that is not UTF-8, are refused with 400; the
// service validates the rest (a bad topic is 400 with the service's text).
// A body over Config.MaxMessageSize is refused with 413 before
// anything is published; it is never buffered beyond the limit. The answer is
// 200 with the PublishResponse as JSON, e.g.
// {"id":"…","publish_time":"2025-01-01T00:00:00Z","duplicate":false}.
//
// # Errors
//
// Every error has grpc-gateway's shape
// {"code":<gRPC code number>,"message":"…","details":[…]} (subscribe streams
// wrap it in {"error":…}, see above). details is empty, except on the
// service's refusals for who is asking or how much, where it holds a
// google.rpc.ErrorInfo naming the reason ({"@type":
// "type.googleapis.com/google.rpc.ErrorInfo", "reason": "TOKEN_EXPIRED",
// "domain": "herald", "metadata": {}}) and, where waiting helps, a
// google.rpc.RetryInfo ({"@type": "type.googleapis.com/google.rpc.RetryInfo",
// "retry_delay": "0.900s"}).
// A 401 carries "WWW-Authenticate: Bearer" (RFC 6750), with
// error="invalid_token" when the credential presented is invalid or
// expired; a 429 with a retry delay carries Retry-After, in whole seconds
// rounded up. The HTTP status comes from one table,
// runtime.HTTPStatusFromCode: INVALID_ARGUMENT 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS and ABORTED 409,
// RESOURCE_EXHAUSTED 429, CANCELLED 499, INTERNAL and UNKNOWN 500,
// UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504. Three refusals
// made by the gateway itself carry their own HTTP status: a body over the
// limit is 413 (code 8, RESOURCE_EXHAUSTED), a body that did not arrive in
// time 408 (code 4, DEADLINE_EXCEEDED) and a wrong method is 405 (code
// 12, UNIMPLEMENTED). Refusals the gateway makes itself, before any call to
// the service, are counted in herald_requests_refused_total with the label
// transport="gateway" and a reason such as invalid_token, rate_limited,
// invalid_argument, too_large, body_timeout, not_found or
// method_not_allowed; refusals by the service are counted by the service.
// Error messages are always valid UTF-8; input quoted in them is escaped.
//
// # CORS
//
// The /v1/ routes answer cross-origin requests from Config.AllowedOrigins
// (exact origins such as "https://app.example.com", or with one wildcard
// such as "https://*.example.com"): preflight requests (OPTIONS with
// Access-Control-Request-Method) for GET and POST with the request headers
// Content-Type, Authorization, Idempotency-Key and Last-Event-ID are
// answered 204, with credentials allowed, and results cacheable for ten
// minutes. "*" admits any origin but never with credentials; origins also
// listed explicitly keep their credentials. An origin not admitted gets no
// Access-Control-Allow-* headers, so the browser refuses the call. With no
// allowed origins, no cross-origin access is granted. Responses under /v1/,
// 404s included, carry "Vary: Origin". The same policy is available to
// other handlers as CORS.
//
// # Shutdown
//
// The context given to New bounds the gateway: once it is done, API calls
// are answered 503 (UNAVAILABLE) without reaching the service and open
// subscribe streams end with an UNAVAILABLE error line, so that
// http.Server.Shutdown, which does not interrupt running handlers, can
// finish. /healthz, /readyz and /metrics keep answering.
//
// # Concurrency
//
// The handler returned by New is safe for concurrent use by any number of
// requests. Each request is served on its own goroutine and is the only
// writer of its response; a client that goes away cancels the request's
// context, and with it the call to the service.
package gateway
