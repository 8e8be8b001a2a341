// Package client is a small Go client for Herald's gRPC API, for services
// that publish messages and subscribe to topics.
//
// A Client wraps the generated herald.v1.PubSubService client over any
// grpc.ClientConnInterface. Publish sends one message, with optional content
// type, event name and idempotency key. Subscribe returns a Subscription that
// stays subscribed across failures: when its stream ends with a retryable
// error, or goes silent for twice the heartbeat interval the server named
// when the stream started (a stream without one is not watched), it
// reconnects with exponential backoff and full jitter and resumes from the id
// of the last message it delivered, so nothing the server still retains is
// lost. Its events say when a stream is in place, when it is reconnecting and
// why, and when the server reports a gap in its history.
//
// # Resuming
//
// A Subscription resumes from the id of the last message Next returned. Before
// any message has arrived it resumes from the id given with WithLastEventID,
// or, without one, from the server's position when the first stream was set
// up (Subscribed.current_id), so that messages published while it reconnects
// are replayed. The resume id survives restarts of the process too: persist
// LastEventID and pass it back with WithLastEventID.
//
// # Retries
//
// UNAVAILABLE (the server shuts down or cannot be reached),
// RESOURCE_EXHAUSTED (the subscriber read too slowly, or a rate limit),
// DEADLINE_EXCEEDED, ABORTED, INTERNAL and UNKNOWN (transport failures), a
// stream the server ended without an error, and a dead stream
// (ErrDeadStream) are retried. So is UNAUTHENTICATED ending a stream the
// server had confirmed: its token expired. Any other status, such as
// INVALID_ARGUMENT, PERMISSION_DENIED, UNIMPLEMENTED, or UNAUTHENTICATED
// refusing a new stream, ends the subscription: Next returns it.
//
// # Credentials and TLS
//
// WithToken presents a token or API key on every call; WithTokenFunc asks a
// function for one before every call and every subscribe attempt, so that a
// Subscription whose token expires resumes from its last id with a fresh
// one. BearerToken gives the same credentials to the generated stubs, and
// TLSCredentials secures the connection to a server that serves TLS.
//
// While the server is unreachable, attempts fail at once with UNAVAILABLE
// and the Subscription keeps retrying with backoff; when the connection
// itself comes back is up to the grpc.ClientConn, whose reconnect backoff
// grows to two minutes by default. Dial with grpc.WithConnectParams and a
// smaller backoff.Config.MaxDelay to resume sooner after an outage.
//
// # Concurrency
//
// A Client is safe for concurrent use. Each Subscription runs one goroutine
// that reads its stream and hands events to Next one at a time; nothing is
// buffered in between, so a reader that stops calling Next stops the stream,
// and the server eventually closes it as a slow consumer, after which the
// Subscription resumes from its last id. Next must be called from one
// goroutine at a time; LastEventID and Close are safe to call concurrently
// with Next and with each other. Close stops the goroutine and waits for it,
// as does cancelling the context given to Subscribe (then Next reports the
// context's error).
package client
