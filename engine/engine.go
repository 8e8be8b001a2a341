package engine

import (
	"context"
	"errors"
	"time"

	"github.com/heraldhq/herald/topic"
)

// Sentinel errors. Engines return them (possibly wrapped); callers compare
// with errors.Is.
var (
	// ErrClosed is returned by every method of an engine after Close, and by
	// Subscription.Next when the engine closed under the subscription.
	ErrClosed = errors.New("engine: closed")
	// ErrSlowConsumer ends a subscription whose queue overflowed because its
	// reader fell behind. The reader can resubscribe from the id of the last
	// message it handled.
	ErrSlowConsumer = errors.New("engine: slow consumer: subscriber queue overflowed")
	// ErrSubscriptionClosed is returned by Subscription.Next after the
	// subscription's own Close.
	ErrSubscriptionClosed = errors.New("engine: subscription closed")
	// ErrFutureID is returned by Subscribe for an After id of the engine's
	// current epoch that lies beyond the newest message: no such position
	// was ever handed out.
	ErrFutureID = errors.New("engine: last event id is ahead of the stream")
)

// Engine stores and routes messages. It is the single plug-in point between
// Herald's transports and the system that holds messages (the embedded
// in-memory engine, or a distributed one).
//
// Guarantees every engine gives (checked by package enginetest):
//
//   - Order: messages get IDs in one total order per epoch; Seq grows by one
//     per accepted message across all topics.
//   - Live delivery: a subscription receives every message published to a
//     matching topic after Subscribe returned, in ID order, at most once.
//   - Replay then live: with SubscribeRequest.After set, the subscription
//     first receives every retained matching message with an ID after it, in
//     order, then live messages, with no gap and no duplicate between the
//     two, even while publishes race the Subscribe call.
//   - Explicit gaps: when retention no longer reaches back to After for some
//     topics, or After is from another epoch, a Gap event comes before any
//     message of those topics.
//   - Publish never blocks on subscribers: each subscription has a bounded
//     queue, and one that overflows ends with ErrSlowConsumer without
//     affecting the others.
//
// Implementations are safe for concurrent use.
type Engine interface {
	// Publish accepts one message and returns its position. With an
	// IdempotencyKey seen on the same topic while that earlier message is
	// still retained, it returns the earlier message's position with
	// Duplicate set and delivers nothing.
	Publish(ctx context.Context, req PublishRequest) (PublishResult, error)

	// Subscribe starts a subscription. ctx bounds the setup only; the
	// subscription lives until its Close, a slow-consumer overflow, or the
	// engine's Close.
	Subscribe(ctx context.Context, req SubscribeRequest) (Subscription, error)

	// Close ends all subscriptions with ErrClosed and refuses further calls.
	// It is safe to call more than once.
	Close() error
}

// PublishRequest is a message to publish. Engines may keep the Data slice:
// callers must not modify it afterwards.
type PublishRequest struct {
	Topic          string // a valid concrete topic (see package topic)
	Data           []byte
	ContentType    string
	Event          string
	IdempotencyKey string // optional; empty disables de-duplication
}

// PublishResult is where a published message stands.
type PublishResult struct {
	ID        ID
	Time      time.Time
	Duplicate bool // an earlier message with the same idempotency key
}

// SubscribeRequest describes a subscription.
type SubscribeRequest struct {
	// Patterns to receive; at least one. Duplicates are harmless.
	Patterns []topic.Pattern
	// After, when non-zero, asks for retained messages after this position
	// before live ones.
	After ID
	// QueueLen bounds the events waiting for the reader (replayed history is
	// not counted). Zero means the engine's default.
	QueueLen int
	// QueueBytes bounds the payload bytes waiting for the reader. Zero means
	// the engine's default.
	QueueBytes int
}

// Subscription is a stream of events. Next must be called from one
// goroutine at a time; Close is safe to call concurrently with Next and more
// than once.
type Subscription interface {
	// Position is the engine's current position when the subscription
	// started: the ID of the newest message accepted on any topic, or the
	// epoch's start (Seq 0) when there is none yet; never the zero ID. A
	// reader that resumes from it misses nothing published after the
	// subscription started.
	Position() ID

	// Next appends the events that are ready to dst and returns it, blocking
	// until at least one is ready. It returns ctx.Err() when ctx ends,
	// ErrSlowConsumer after an overflow, ErrClosed when the engine closed,
	// and ErrSubscriptionClosed after Close. On error the returned slice is
	// dst unchanged: events still queued at an overflow are dropped, and the
	// reader resumes from the last message it handled.
	Next(ctx context.Context, dst []Event) ([]Event, error)

	// TryNext is Next without the wait: it appends the events that are
	// ready to dst and returns at once, with nothing appended and a nil
	// error when none is. Its errors are Next's, less ctx's. A reader that
	// waits by itself (on Ready, and whatever else it waits for) calls
	// TryNext rather than Next.
	TryNext(dst []Event) ([]Event, error)

	// Ready returns a channel that receives a value when events may have
	// become ready, or the subscription ended, since TryNext or Next last
	// handed out everything that was queued, and when Wake is called. A
	// value may come with nothing ready (a reader then calls TryNext and
	// waits again), but one never fails to come when something is,
	// unless a Postponer took the wake-up over (see SetPostponer). The
	// channel is the same for the subscription's life.
	Ready() <-chan struct{}

	// SetPostponer makes p decide when the reader is woken for events
	// that become ready (nil, the default: at once). The end of the
	// subscription always wakes the reader at once. Safe to call
	// concurrently with deliveries; a wake-up the previous Postponer
	// took over is its to give.
	SetPostponer(p Postponer)

	// Wake leaves a value on the Ready channel unless one already waits
	// there, without blocking: a reader that waits on Ready for reasons
	// of its own besides events (a timer, a request from another
	// goroutine) is woken through it. TryNext and Next may take such a
	// value along with the events they hand out, so a reader checks its
	// own reasons after TryNext and before it waits. Safe to call from any
	// goroutine, also after Close.
	Wake()

	// Close ends the subscription and frees its resources.
	Close()
}

// A Postponer lets the reader of a subscription gather events that
// arrive close together without being woken for each one, so that a
// reader writing to a network connection writes them with one system
// call: the browser bridges' coalescing window.
type Postponer interface {
	// Postpone is called when events become ready on a subscription
	// whose reader had been handed everything queued, before the reader
	// is woken. It returns false to have the reader woken at once
	// (through Ready), or true when it took the wake-up over: it then
	// calls w.Wake, w being the subscription, when the reader is to
	// wake. Engines call it with their locks held: it must be quick, and
	// may call nothing of the subscription's but Wake, and that only
	// after it returned.
	Postpone(w Waker) bool
}

// A Waker wakes the reader of a subscription: a Subscription's Wake.
type Waker interface {
	Wake()
}

// Event is one item of a subscription: exactly one of Message and Gap is
// set.
type Event struct {
	Message *Message
	Gap     *Gap
}

// GapReason says why history does not reach back to a requested position.
type GapReason int

const (
	// GapTruncated: older messages were dropped by retention limits.
	GapTruncated GapReason = iota + 1
	// GapEpochChanged: the requested position is from another epoch (the
	// engine lost its history, for example an in-memory engine restarted).
	GapEpochChanged
)

// String returns "truncated" or "epoch_changed".
func (r GapReason) String() string {
	switch r {
	case GapTruncated:
		return "truncated"
	case GapEpochChanged:
		return "epoch_changed"
	}
	return "unknown"
}

// Gap tells a subscriber that messages after Requested may be missing for
// the listed topics or patterns. Delivery for them goes on from
// FirstAvailable (zero when nothing older than live messages is retained).
type Gap struct {
	Topics         []string
	Requested      ID
	FirstAvailable ID
	Reason         GapReason
}
