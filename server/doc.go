// Package server is Herald's gRPC server: the herald.v1.PubSubService
// implementation on an engine.Engine, together with the grpc.health.v1
// health service, server reflection, HTTP/2 keepalive and ping enforcement,
// request logging, panic recovery and Prometheus metrics.
//
// # Publish
//
// Publish authenticates the caller, validates the request (topic, payload
// size, content type, event name, idempotency key), checks the caller's
// permission and publish rate (see Access), hands the message to the
// engine and returns its id. Validation refusals are INVALID_ARGUMENT, or
// RESOURCE_EXHAUSTED for a payload over Config.MaxMessageSize, each with a
// message that names the field. Engine and context errors are mapped to
// statuses in one place (errors.go); internal error text is logged, never
// sent.
//
// # Access
//
// Config.Auth (nil: open, everyone may do everything) verifies the
// credential of the "authorization: Bearer …" metadata of each call, a JWT
// or an API key, and decides which topics its holder may publish and
// subscribe to; Config.Limits (nil: the defaults of package limits) bounds
// how much a client may do. Authentication comes first: a client without
// a valid credential learns nothing but UNAUTHENTICATED, and a credential
// already past its exp is refused (token_expired) even while the clock
// leeway still admits it. Then, in order:
//
//   - Publish: validation, permission for the topic (PERMISSION_DENIED, or
//     UNAUTHENTICATED for an anonymous client), and the publish rate of the
//     token's subject or API key, or of the client's IP address for an
//     anonymous client (RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
//     delay).
//   - Subscribe: validation, permission for every pattern (a pattern is
//     allowed when one of the holder's patterns covers every topic it
//     matches), the topics limit, the subscribe rate of the client's
//     connection (address and port), and a connection slot for the
//     client's IP address, held until the stream ends. Nothing is
//     subscribed before all of them pass.
//
// A stream opened with a credential that expires ends at its exp with
// UNAUTHENTICATED, reason token_expired, "token expired: reconnect with a
// fresh token and resume from the last event id", through the same abort
// path as shutdown: the status follows the frames already queued, and the
// client resumes from the id of the last message it received.
//
// Every refusal carries a google.rpc.ErrorInfo detail of domain "herald"
// naming its reason (package refusal) in upper case: UNAUTHENTICATED,
// INVALID_TOKEN, TOKEN_EXPIRED, PERMISSION_DENIED, RATE_LIMITED,
// TOO_MANY_CONNECTIONS, TOO_MANY_TOPICS; the HTTP gateway builds its
// WWW-Authenticate header from it. Refusals are counted in
// herald_requests_refused_total under the reason in lower case.
//
// A relay, the API key of a bridge node, is held to its permissions and
// the topics limit only: its streams carry many browsers' subscriptions,
// and the bridge applies the subscribe rate and connection limits to each
// of its own clients.
//
// The client's address is the peer address, except where an HTTP gateway
// names its own client in the metadata ClientAddrHeader: on the in-process
// listener (grpc's bufconn), which only the node's own gateway reaches,
// and on calls relayed by a bridge, which carry the bridge's relay key in
// RelayAuthorizationHeader ("Bearer <key>") beside the client's own
// credential in "authorization". That metadata is believed on those calls
// only, when the relay key verifies to an identity with Relay set: a
// client that connects over the network without a relay key cannot claim
// another address.
//
// The health service and server reflection are open to everyone: load
// balancers probe health without credentials, and grpcurl lists the API
// through reflection.
//
// # TLS
//
// With Config.TLS the server speaks TLS on every connection except those
// of the in-process listener, which never leave the process and stay in
// plain text (tls.go). A client that speaks plain text to the TLS port
// fails its handshake.
//
// # Subscribe streams
//
// Each Subscribe stream is served by its handler goroutine alone: it is the
// only writer of the stream, and there is no other goroutine per stream. It
// sends the response headers at once (the HTTP gateway waits for them
// before it writes anything to its client), then the subscribed frame, then
// relays the subscription's events: history-gap notices and messages.
//
// The goroutine blocks in Subscription.Next, which waits for events or for
// its context to end. Heartbeats and write deadlines come from one timer per
// stream (streamClock) that traffic never touches: each send records its
// start and end time with an atomic store, and the timer, when it fires,
// either re-arms itself for the remaining time or acts. When the stream has
// been idle for Config.HeartbeatInterval it cancels the context Next waits
// on; Next returns, the goroutine sends a heartbeat frame and waits again
// on a fresh context. That is one small allocation per idle interval and
// nothing per message, where a context with a deadline per wait would
// allocate and re-register a timer for every batch, and a pump goroutine
// feeding a select loop would double the goroutines and add a hand-off per
// batch.
//
// A client that keeps its connection open but stops reading eventually
// blocks a send on HTTP/2 flow control. The engine's bounded queue keeps
// publishers and other subscribers unaffected; the same timer bounds the
// blocked send by Config.WriteTimeout and then aborts the stream (abort.go):
// it hands the RESOURCE_EXHAUSTED status to the transport, which queues it
// behind the data already buffered for the client and releases the blocked
// send, so the stream's goroutine and subscription are freed at once and
// the client gets the status when it reads again. A subscriber whose engine
// queue overflows ends with RESOURCE_EXHAUSTED as well; either way it
// resumes with last_event_id and loses nothing still retained.
//
// Each message is encoded once for all streams: the first stream that sends
// it stores a *grpc.PreparedMsg of its frame in the message's encoding
// cache and every other stream sends those bytes. This is valid only for
// streams with the proto codec and no compression; encoding.go documents
// the invariant and checks it per stream.
//
// Calls that the HTTP gateway makes carry the metadata
// "x-herald-transport: gateway" (TransportHeader) and are counted under the
// gateway transport in the metrics; all others under gRPC.
//
// # Shutdown
//
// Shutdown sets health NOT_SERVING, ends every Subscribe stream and health
// Watch with UNAVAILABLE (they never end by themselves), then runs
// GracefulStop for the calls still in flight, bounded by its context and
// Config.ShutdownTimeout, and finally Stop.
//
// # Concurrency
//
// A Server and its Service are safe for concurrent use; Serve may run for
// several listeners at once, and Shutdown may be called from any goroutine.
// Per stream, only the handler goroutine writes; the stream's timer only
// cancels contexts. No mutex is held while sending.
package server
