package bridge

import (
	"context"

	"github.com/heraldhq/herald/engine"
)

// Request is a browser's subscription request, as it arrives: topics or
// patterns not yet validated, and the id to resume after (empty for live
// only).
type Request struct {
	Topics      []string
	LastEventID string
}

// Subscribed confirms a subscription: the normalised, de-duplicated topics
// and the position to resume from if no message arrives first.
type Subscribed struct {
	Topics    []string
	CurrentID string
}

// Source starts subscriptions with the semantics of gRPC Subscribe: replay
// after the requested id, then live messages, history gaps as events, and a
// slow-consumer end when the reader falls behind. Implementations serve it
// from the engine in-process or from a remote Herald over gRPC; the
// transports cannot tell which.
//
// Implementations are safe for concurrent use.
type Source interface {
	// Subscribe validates req and starts a subscription. Its errors are gRPC
	// status errors: InvalidArgument for bad topics or ids (the message says
	// what is wrong), Unavailable when the source is shutting down or cannot
	// reach its upstream, others as they come. ctx bounds the setup only.
	Subscribe(ctx context.Context, req Request) (Subscription, error)
}

// Subscription is one running subscription of a Source. Next is called by
// one goroutine at a time; Close is safe to call concurrently and more than
// once.
type Subscription interface {
	// Subscribed is the confirmation, available as soon as Subscribe
	// returned.
	Subscribed() Subscribed

	// Next appends every ready event to dst, blocking until there is at
	// least one, with the contract of engine.Subscription.Next. Messages
	// are shared between subscriptions and must not be modified; their
	// encoding cache is there to encode each once per wire format. Errors:
	// ctx's error; engine.ErrSlowConsumer when the reader fell behind;
	// engine.ErrClosed when the source shut down or lost its upstream (the
	// client should reconnect and resume); engine.ErrSubscriptionClosed
	// after Close.
	Next(ctx context.Context, dst []engine.Event) ([]engine.Event, error)

	// TryNext is Next without the wait, with the contract of
	// engine.Subscription.TryNext: it appends the events that are ready
	// and returns at once.
	TryNext(dst []engine.Event) ([]engine.Event, error)

	// Ready returns the channel that receives a value when events may have
	// become ready or the subscription ended, with the contract of
	// engine.Subscription.Ready. Writers that wait for more than events
	// wait on it and call TryNext.
	Ready() <-chan struct{}

	// Wake leaves a value on the Ready channel without blocking, with the
	// contract of engine.Subscription.Wake: how a writer waiting on Ready
	// is woken for its own reasons.
	Wake()

	// SetPostponer makes p decide when the writer is woken for events,
	// with the contract of engine.Subscription.SetPostponer: how a
	// transport's coalescing window (Pace) lets a busy connection's
	// events pile up without waking its writer for each.
	SetPostponer(p engine.Postponer)

	// Close ends the subscription and frees its resources.
	Close()
}
