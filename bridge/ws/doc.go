// Package ws is Herald's WebSocket transport, GET /v1/ws: browsers
// subscribe over a WebSocket connection and receive JSON frames, with the
// protocol of docs/browser-protocol.md (subscribe, unsubscribe, auth and
// ping frames from the client; subscribed, message, gap, heartbeat, pong,
// authenticated and error frames from the server). Subscriptions come
// from a bridge.Source, so the handler serves the engine in-process or a
// remote Herald alike.
//
// # Connections
//
// Each connection has exactly two goroutines. The reader reads client
// frames with gorilla/websocket (read limit, read deadline renewed by
// Pongs and by any frame) and hands each one to the writer through a small
// bounded inbox; a client that overflows it is closed with 1008. The
// writer is the only goroutine that writes to the connection: messages,
// Pings, Pongs, heartbeats, errors and the close frame. It gathers every
// frame that is ready (while the connection is busy, events wake it only
// at the end of Config.CoalesceWindow, so that a burst piles up, see
// bridge.Pace) and writes
// them with one vectored write under a write deadline, straight to the
// TCP connection. Message frames are encoded once per message, as
// complete WebSocket frames, and cached on the shared *engine.Message, so
// a fan-out to N connections costs one encoding and N writes.
//
// The writer waits on one channel, its subscription's Ready: events
// arrive there, and everything else that wakes it (client frames, its
// timer, the end) is a signal sent through the subscription's Wake. The
// postponed wake-ups of all connections come on the ticks of one shared
// bridge.Wheel. One timer per connection drives the Pings (every
// heartbeat interval) and the heartbeat frames (when nothing was sent for
// an interval); it is re-armed lazily, not on every write, and every time
// it fires.
// An idle connection's two goroutines wait in shallow calls on minimal
// stacks: the reader takes the client's Pongs itself rather than through
// gorilla's frame parser, which would leave it waiting deep inside the
// parser, and the writer goes on as a new goroutine after its first
// write and after every Ping, leaving behind a stack that writing grew.
// (The garbage collector shrinks grown stacks only when it runs, which
// an idle server, allocating little, rarely does; and every Ping round
// would grow them again.) A peer
// that sends nothing, not even a Pong, for two intervals is closed; a
// write that misses its deadline closes the connection as a slow consumer
// (4000), as does an overflow of the subscription's queue. Once a
// connection is told to end (its credential expired, Shutdown), its writer
// writes no more events, whatever the source still hands out: only the
// close frame follows.
//
// # Access
//
// A connection acts for the identity of its handshake's credential (an
// Authorization header, the herald_token cookie or the access_token query
// parameter; the cookie not from an origin that only "*" admits, see
// bridge.Admission), verified by Config.Auth before the upgrade, as are
// the handshake's topics and the limits of Config.Limits: a refusal is an
// HTTP error, not a connection. After the upgrade every subscribe frame
// is authorized against the identity, the topics the connection holds
// are bounded by the topic limit, and subscribe, unsubscribe and auth
// frames by the connection's request rate; a refusal is an error frame.
// An auth frame replaces the identity with that of a fresh credential
// that still covers the connection's topics. The connection holds its
// slot of the connection limit until it ends, and closes with
// CloseTokenExpired when its identity's credential expires.
//
// # Concurrency
//
// A Handler is safe for concurrent use: ServeHTTP runs on the HTTP
// server's goroutines, and Shutdown may be called from any goroutine, more
// than once. ServeHTTP returns as soon as the connection is upgraded; the
// connection then lives on its own goroutines until it ends, and Shutdown
// is what ends them all (http.Server.Shutdown does not know hijacked
// connections: register Handler.Shutdown with RegisterOnShutdown or call
// it next to it).
//
// Lock order: Handler.mu and each connection's mutex are leaves; neither
// is held while taking the other or during I/O.
package ws
