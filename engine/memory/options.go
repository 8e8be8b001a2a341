package memory

import "time"

// Defaults applied to zero (or negative) Options fields.
const (
	// DefaultHistorySize is the number of messages retained per topic.
	DefaultHistorySize = 1000
	// DefaultHistoryTTL is how long a message is retained.
	DefaultHistoryTTL = 10 * time.Minute
	// DefaultQueueLen bounds a subscription's queue in events.
	DefaultQueueLen = 1024
	// DefaultQueueBytes bounds a subscription's queue in payload bytes.
	DefaultQueueBytes = 16 << 20
)

// The janitor interval derived from HistoryTTL stays within these bounds.
const (
	maxJanitorInterval = time.Second
	minJanitorInterval = 10 * time.Millisecond
)

// Options configures an Engine. The zero value is ready to use: every zero
// field means the documented default.
type Options struct {
	// HistorySize is how many messages are retained per topic for replay
	// and de-duplication. Zero means DefaultHistorySize (1000).
	HistorySize int
	// HistoryTTL is how long a message is retained after it was published.
	// Zero means DefaultHistoryTTL (10 minutes).
	HistoryTTL time.Duration
	// QueueLen is the default bound, in events, of a subscription's live
	// queue; SubscribeRequest.QueueLen overrides it. Zero means
	// DefaultQueueLen (1024).
	QueueLen int
	// QueueBytes is the default bound, in payload bytes, of a subscription's
	// live queue; SubscribeRequest.QueueBytes overrides it. A single message
	// larger than the bound is still accepted into an empty queue. Zero
	// means DefaultQueueBytes (16 MiB).
	QueueBytes int
	// JanitorInterval is how often the background janitor expires old
	// messages and forgets idle topics. Zero means HistoryTTL/4, bounded to
	// [10ms, 1s].
	JanitorInterval time.Duration
	// Now is the clock that stamps messages and ages them. Nil means
	// time.Now; tests inject a controllable clock.
	Now func() time.Time
}

// withDefaults returns o with every unset field replaced by its default.
func (o Options) withDefaults() Options {
	if o.HistorySize <= 0 {
		o.HistorySize = DefaultHistorySize
	}
	if o.HistoryTTL <= 0 {
		o.HistoryTTL = DefaultHistoryTTL
	}
	if o.QueueLen <= 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.JanitorInterval <= 0 {
		o.JanitorInterval = min(max(o.HistoryTTL/4, minJanitorInterval), maxJanitorInterval)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
