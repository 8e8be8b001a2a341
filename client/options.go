package client

import "time"

// DefaultSubscribeTimeout is how long a Subscription waits by default for
// the server to confirm a new stream before it treats the attempt as dead.
const DefaultSubscribeTimeout = 15 * time.Second

// SubscribeOption configures a Subscription.
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	lastEventID      string
	initialBackoff   time.Duration
	maxBackoff       time.Duration
	subscribeTimeout time.Duration
}

// WithLastEventID starts the subscription after the message with this id
// (from Message.Id, Subscribed.CurrentId, PublishResponse.Id or an earlier
// LastEventID): the server first replays what it retains after it. Empty,
// the default, means live messages only.
func WithLastEventID(id string) SubscribeOption {
	return func(c *subscribeConfig) { c.lastEventID = id }
}

// WithBackoff sets the bounds of the reconnect delay: the delay before the
// n-th consecutive retry is uniformly random between zero and
// initial·2^(n-1), capped at max. A successful subscribe starts again from
// initial. Zero values mean DefaultInitialBackoff and DefaultMaxBackoff; a
// max below initial is raised to initial.
func WithBackoff(initial, max time.Duration) SubscribeOption {
	return func(c *subscribeConfig) { c.initialBackoff, c.maxBackoff = initial, max }
}

// WithSubscribeTimeout bounds the wait for the server's subscribed frame on
// each attempt; an attempt that gets no answer in time fails with
// ErrDeadStream and is retried. Zero means DefaultSubscribeTimeout.
func WithSubscribeTimeout(d time.Duration) SubscribeOption {
	return func(c *subscribeConfig) { c.subscribeTimeout = d }
}
