// Package app assembles a Herald node: the in-memory engine, the gRPC server,
// and on the HTTP port the JSON gateway, the browser transports (Server-Sent
// Events on /v1/sse, WebSocket on /v1/ws) and the demo page (/ and
// /herald.js), sharing one set of metrics, served on two listening addresses.
// The HTTP port speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c).
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
// apart from the core.
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
