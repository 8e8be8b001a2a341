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
// # Access
//
// A stream is opened for an identity: the credential of the request (an
// Authorization header, the herald_token cookie or the access_token query
// parameter; the cookie not from an origin that only "*" admits, see
// bridge.Admission) verified by Config.Auth, whose subscribe claims must
// cover every topic. The limits of Config.Limits bound the topics, the
// subscribe rate of a client connection and the streams per client
// address; a stream holds its connection slot until it ends. A refusal is
// an HTTP error before anything is streamed. A credential that expires
// ends its stream with a token_expired herald.error event.
//
// # Concurrency
//
// A Handler is safe for concurrent use. Each stream has exactly one writer:
// it waits for events, encodes them, and writes each batch in one write
// under a write deadline. On a busy stream, events wake the writer only
// at the end of Config.CoalesceWindow (see bridge.Pace; the wake-ups come
// on the ticks of one bridge.Wheel shared by all streams), so that the
// events of that time share one write and one wake-up. The writer waits on one channel, its
// subscription's Ready, where the clock and the stream's end wake it too.
// Nothing else touches the response: heartbeats come from one timer per
// stream, re-armed by traffic, which only wakes the writer; Shutdown, and
// the expiry of a stream's credential, only cancel the streams' contexts,
// and each writer then writes its own going_away or token_expired event
// and returns. A writer
// checks its context before it writes events, so none goes out once the
// context has ended, even when the source still has some ready. A client
// that stops reading is noticed through the write deadline.
//
// # Connections
//
// Over HTTP/2 (h2c or TLS) a stream is a response like any other: its
// writer is the goroutine of its ServeHTTP call, which writes through the
// ResponseWriter and flushes each batch (http.ResponseController), and a
// client that leaves is noticed through the request's context.
//
// Over HTTP/1.x a stream takes its connection over (Hijack) once its
// subscription is made, so that an idle stream costs little: net/http's
// connection buffers, its background reader and the deep stack of its
// handler goroutine all go. ServeHTTP then returns, and the stream runs on
// a goroutine of its own, which writes the response itself: the headers
// with the first frames, then every batch as one chunk of a chunked body
// (HTTP/1.0 clients get the body unframed), in one write: the chunk's
// size line goes into room the stream's buffer keeps at its front, so
// that the chunk goes out as one buffer, and a large cached frame goes
// out with its framing in one vectored write. The
// response says Connection: close; when the stream ends it gets its last
// chunk and the connection is closed, so the end is a proper one. A
// second goroutine parks in the runtime's poller until the client sends
// something: what it sends is dropped, and the end of its stream ends the
// stream at once. Where the connection has no file descriptor to wait on,
// that goroutine reads the connection instead, to the same effect.
// http.Server.Shutdown does not know hijacked connections:
// Handler.Shutdown ends them (register it with RegisterOnShutdown, or call
// it first, as package app does).
//
// After a stream's handler returns, an HTTP/1.1 connection that was not
// taken over keeps the last write deadline; a server that reuses
// connections for other long-lived responses should clear it when the
// connection goes idle (http.Server.ConnState with http.StateIdle), as
// package app does.
package sse
