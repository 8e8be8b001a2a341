// Package app assembles a Herald node: the in-memory engine, the gRPC server
// and the HTTP gateway, sharing one set of metrics, served on two listening
// addresses.
//
// Start builds and starts a node and returns once both addresses are
// listening; Node.Shutdown stops it. Run does both around a context, which is
// what `herald serve` calls.
//
// The HTTP gateway reaches the gRPC service in-process: the same gRPC server
// is also served on an in-memory listener that the gateway dials, so it does
// not depend on the public gRPC address, its port or its network.
//
// # Lifecycle
//
// A node is ready (/readyz 200, gRPC health SERVING) once both servers are
// serving, and not ready from the first moment of shutdown. Shutdown goes:
//
//  1. not ready;
//  2. the gRPC server shuts down: every Subscribe stream ends with
//     UNAVAILABLE, telling subscribers to reconnect and resume, and calls in
//     flight may finish;
//  3. the HTTP server shuts down (its streams have ended with step 2);
//  4. the in-process client connection closes;
//  5. the engine closes.
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
