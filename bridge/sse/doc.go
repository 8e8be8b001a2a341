// Package sse serves Herald subscriptions as Server-Sent Events: GET
// /v1/sse?topic=… answers a text/event-stream of the subscription's
// messages, history gaps and heartbeats, exactly as docs/browser-protocol.md
// describes. It works over HTTP/1.1, h2c and HTTP/2 with TLS alike.
//
// A Handler serves the subscriptions of a bridge.Source: in-process from the
// engine, or from a remote Herald. Each message is encoded once for all
// streams: its frame (raw payload or JSON envelope) is cached on the shared
// *engine.Message.
//
// # Concurrency
//
// A Handler is safe for concurrent use. Each stream has exactly one writer,
// the goroutine of its ServeHTTP call: it waits for events, encodes them,
// and writes each batch in one write under a write deadline followed by a
// flush (http.ResponseController). A busy stream waits up to
// Config.CoalesceWindow, for a tick shared by all streams, so that the
// events of that time share one write and one wake-up. Nothing
// else touches the response: heartbeats come from one timer per stream,
// re-armed by traffic, which only wakes the writer; Shutdown only cancels
// the streams' contexts, and each writer then writes its own going_away
// event and returns. A client that leaves is noticed through the request's
// context, one that stops reading through the write deadline.
//
// After a stream's handler returns, its HTTP/1.1 connection keeps the
// last write deadline; a server that reuses connections for other
// long-lived responses should clear it when the connection goes idle
// (http.Server.ConnState with http.StateIdle), as package app does.
package sse
