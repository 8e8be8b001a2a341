// Package subreq validates subscribe requests the same way on every
// transport: gRPC Subscribe, Server-Sent Events and WebSocket. It turns the
// topics and the last event id a client sent into engine patterns and an
// engine.ID, or into an InvalidArgument gRPC status whose message tells the
// client what is wrong.
//
// Everything here is pure and safe for concurrent use.
package subreq
