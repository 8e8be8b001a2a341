package client

import (
	"time"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// EventKind says what an Event carries.
type EventKind int

// The kinds of Event.
const (
	// KindMessage is a published message: Event.Message is set.
	KindMessage EventKind = iota + 1
	// KindGap says that the server's retained history does not reach back
	// to the id the stream resumed from, so messages of Event.Gap.Topics may
	// be missing before the next message: Event.Gap is set.
	KindGap
	// KindConnected says that a stream is in place: Event.Subscribed is the
	// server's confirmation. It is the first event, and comes again after
	// every reconnect.
	KindConnected
	// KindReconnecting says that the stream ended with a retryable error:
	// Event.Err is why, Event.Attempt counts the failures since the last
	// KindConnected (from 1), and Event.Delay is how long the Subscription
	// waits before its next attempt.
	KindReconnecting
)

// String returns "message", "gap", "connected" or "reconnecting".
func (k EventKind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindGap:
		return "gap"
	case KindConnected:
		return "connected"
	case KindReconnecting:
		return "reconnecting"
	}
	return "unknown"
}

// Event is one item of a Subscription: a message, a history gap, or a change
// of the connection's state. Kind says which fields are set; the others are
// zero. Events hold no references into the Subscription and may be kept.
type Event struct {
	// Kind says what the event carries.
	Kind EventKind
	// Message is the published message, for KindMessage.
	Message *heraldv1.Message
	// Gap is the server's history-gap notice, for KindGap.
	Gap *heraldv1.HistoryGap
	// Subscribed is the server's confirmation of a new stream, for
	// KindConnected.
	Subscribed *heraldv1.Subscribed
	// Err is why the stream ended, for KindReconnecting: a gRPC status
	// error, ErrDeadStream or ErrStreamEnded.
	Err error
	// Attempt counts the failed attempts since the last KindConnected,
	// starting at 1, for KindReconnecting.
	Attempt int
	// Delay is the wait before the next attempt, for KindReconnecting.
	Delay time.Duration
}
