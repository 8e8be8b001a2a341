// Package bridge serves Herald subscriptions to browsers as Server-Sent
// Events and WebSocket connections (docs/browser-protocol.md).
//
// Both transports consume one interface, Source, which has the semantics of
// gRPC Subscribe (replay after an id, live messages, history gaps,
// slow-consumer end). It is served either in-process from the engine
// (NewLocalSource) or from a remote Herald over gRPC (NewRemoteSource, for
// `herald bridge`), so browser-facing nodes can scale apart from the core.
// SharedSource, in front of a remote source, serves all the subscriptions
// to one set of topics from one upstream stream, so that the upstream
// sends each message once per bridge rather than once per browser.
// The transports live in sub-packages: bridge/sse and bridge/ws. This
// package also holds what they share: the JSON message envelope
// (AppendEnvelope), the origin check (OriginPolicy), and the access checks
// of a request (Access: its credential, topic permissions, connection slot
// and limits).
//
// # Encoding once
//
// A message reaches every subscription that receives it as one shared
// *engine.Message, whose encoding cache lets a transport encode each frame
// once for all its connections. The local source passes the engine's
// messages through. The remote source receives each message once per
// upstream stream and interns it by id, so its subscriptions share one
// *engine.Message as well.
//
// # Sharing upstream streams
//
// A SharedSource keeps one live subscription of its inner source per
// topic set (a hub), fans its events out to per-subscription queues, and
// keeps a ring of its latest messages. Positions are the engine's single
// order of messages, so a client resuming from an id the ring covers
// joins at once, and one resuming from further back replays on a
// catch-up stream (shared by those resuming from the same id) until that
// stream reaches the ring, then hands over without a gap or a repeat. An idle hub lingers a little for clients that
// reconnect.
//
// # Concurrency
//
// Sources are safe for concurrent use. A Subscription's Next and TryNext
// are called by one goroutine at a time (a connection's single writer);
// Wake and Close are safe to call concurrently with them, Close more than
// once. The transports' writers poll with TryNext and wait on Ready, so
// one channel wakes them for events and, through Wake, for anything else.
//
// # Coalescing
//
// Pace, the Postponer of a connection's subscription, decides when an
// event wakes the writer: at once, or, while the connection is busy, at
// the end of the configured window, so that more events join it in one
// write after one wake-up. Wheel is the one timer that gives a
// transport's postponed wake-ups.
//
// A remote subscription runs one goroutine that reads its upstream stream
// into a queue bounded in events and bytes; Close waits for it to return.
// A hub of a SharedSource reads its stream on one goroutine for all its
// subscriptions, as does each catch-up stream for those sharing it;
// SharedSource.Close waits for them.
package bridge
