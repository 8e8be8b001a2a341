// Package app assembles a Herald node: the in-memory engine, the gRPC server,
// and on the HTTP port the JSON gateway, the browser transports (Server-Sent
// Events on /v1/sse, WebSocket on /v1/ws) and the demo page (/ and
// /herald.js), sharing one set of metrics, served on two listening addresses.
// The HTTP port speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c).
//
// # Access
//
// A node builds one auth.Authenticator (Config.Auth) and one
// limits.Limiter (Config.Limits) and gives them to the gRPC server and both
// browser transports, so a client meets the same rules, and the same
// quotas, whichever transport it picks; the HTTP API checks the client's
// credential before reading anything else of a request, then reaches the
// gRPC service with it, which checks it again in full. Without any
// credential setting the node is open to everyone and logs a warning
// saying so at start; with one, it logs which methods are in force and
// what anonymous clients may subscribe to.
//
// With Config.TLS the gRPC port serves TLS and the HTTP port HTTPS, with
// HTTP/2 negotiated by ALPN (browsers open any number of Server-Sent
// Events streams over it) and HTTP/1.1; h2c is only offered in plain
// text. The certificate and key files are reloaded when they change
// (package internal/tlsfiles). The in-process connection of the gateway
// stays in plain text: it never leaves the process.
//
// Start builds and starts a node and returns once both addresses are
// listening; Node.Shutdown stops it. Run does both around a context, which is
// what `herald serve` calls.
//
// The HTTP gateway reaches the gRPC service in-process: the same gRPC server
// is also served on an in-memory listener that the gateway dials, so it does
// not depend on the public gRPC address, its port or its network. The
// browser transports subscribe to the engine directly
// (bridge.NewLocalSource), so each message is encoded once per format for
// all their connections.
//
// A Bridge (StartBridge, RunBridge; `herald bridge`) is the HTTP side alone:
// the browser transports, the gateway and the page over a remote Herald's
// gRPC API (bridge.NewRemoteSource), so that browser-facing nodes scale
// apart from the core. Its browsers share upstream streams
// (bridge.SharedSource): one per set of topics, however many browsers
// read it, so the upstream's fan-out is per bridge, not per browser. A bridge checks its clients' credentials and
// applies its limits to them itself, on every transport, and presents its
// own credential (BridgeConfig.UpstreamToken) to the upstream for the
// subscriptions it makes on their behalf. Its HTTP API relays each
// client's credential to the upstream, which decides, together with the
// client's address and the bridge's credential as a relay credential, so
// that an upstream that knows it as a relay key limits each client on its
// own.
//
// # Lifecycle
//
// A node is ready (/readyz 200, gRPC health SERVING) once both servers are
// serving, and not ready from the first moment of shutdown. Shutdown goes:
//
//  1. not ready;
//  2. at once: the gRPC server shuts down, so every Subscribe stream ends
//     with UNAVAILABLE and calls in flight may finish; and every browser
//     stream ends with a going-away notice (SSE herald.error, WebSocket
//     close 1001) — all tell their clients to reconnect and resume;
//  3. the HTTP server shuts down (its streams have ended with step 2;
//     hijacked WebSocket connections, which it does not track, too);
//  4. the in-process client connection closes;
//  5. the engine closes.
//
// A bridge is not ready while its upstream is unreachable; its shutdown ends
// the browser streams, then the HTTP server, then the upstream connection.
//
// The whole sequence is bounded by the context given to Shutdown: when it
// ends, what is still open is closed at once.
//
// # Concurrency
//
// A Node is safe for concurrent use; Shutdown may be called more than once
// and from several goroutines (later calls wait for the first and return its
// result). A node lives in its own values only: several nodes can run in one
// process, as the tests do.
package app
