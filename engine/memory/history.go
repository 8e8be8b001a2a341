package memory

import (
	"sort"
	"time"

	"github.com/heraldhq/herald/engine"
)

// retained is one message in a topic's history, with the idempotency key
// it was published with (empty for none).
type retained struct {
	msg *engine.Message
	key string
}

// topicState is the history of one topic. All fields are guarded by the
// engine's mutex.
type topicState struct {
	name string

	// buf[head:] are the retained messages, oldest first, in seq order.
	buf  []retained
	head int

	// evictedUpTo is the seq of the newest message dropped from this
	// topic's history (zero if none): a resume from an older position has
	// a gap here.
	evictedUpTo uint64
	// lastSeq is the seq of the newest message ever published here.
	lastSeq uint64
	// lastPublish is when the newest message was published.
	lastPublish time.Time

	// keys maps idempotency keys to the retained message published with
	// them. Allocated on first use.
	keys map[string]*engine.Message

	// heapIdx is the position in the engine's expiry heap, or -1 while the
	// topic has no retained messages and is not in the heap.
	heapIdx int
	// expiryKey orders the expiry heap: the publish time of the oldest
	// retained message when last computed. It is never later than the real
	// oldest time (size eviction only makes it stale-early), so the janitor
	// never misses an expiry.
	expiryKey time.Time
}

func newTopicState(name string) *topicState {
	return &topicState{name: name, heapIdx: -1}
}

// len returns the number of retained messages.
func (ts *topicState) len() int { return len(ts.buf) - ts.head }

// retained returns the retained messages, oldest first. The slice aliases
// the history and is valid only under the engine's mutex.
func (ts *topicState) retained() []retained { return ts.buf[ts.head:] }

// oldest returns the oldest retained message; the topic must not be empty.
func (ts *topicState) oldest() *engine.Message { return ts.buf[ts.head].msg }

// oldestID returns the ID of the oldest retained message, or zero.
func (ts *topicState) oldestID() engine.ID {
	if ts.len() == 0 {
		return engine.ID{}
	}
	return ts.oldest().ID
}

// lookup returns the retained message published with key, or nil.
func (ts *topicState) lookup(key string) *engine.Message {
	if key == "" || ts.keys == nil {
		return nil
	}
	return ts.keys[key]
}

// push appends m, published with key, to the history.
func (ts *topicState) push(m *engine.Message, key string) {
	// Reuse the free space before head once it is at least half the
	// buffer: each compaction copies at most as many entries as were
	// appended since the previous one, so pushes stay amortised O(1).
	if ts.head > 0 && len(ts.buf) == cap(ts.buf) && ts.head >= cap(ts.buf)/2 {
		n := copy(ts.buf, ts.buf[ts.head:])
		clear(ts.buf[n:])
		ts.buf = ts.buf[:n]
		ts.head = 0
	}
	ts.buf = append(ts.buf, retained{msg: m, key: key})
	ts.lastSeq = m.ID.Seq
	ts.lastPublish = m.Time
	if key != "" {
		if ts.keys == nil {
			ts.keys = make(map[string]*engine.Message)
		}
		ts.keys[key] = m
	}
}

// evictOldest drops the oldest retained message; the topic must not be
// empty.
func (ts *topicState) evictOldest() {
	r := ts.buf[ts.head]
	ts.buf[ts.head] = retained{}
	ts.head++
	ts.evictedUpTo = r.msg.ID.Seq
	if r.key != "" && ts.keys[r.key] == r.msg {
		delete(ts.keys, r.key)
	}
	if ts.head == len(ts.buf) {
		// Empty: let the buffer go, a quiet topic should cost little.
		ts.buf, ts.head = nil, 0
		if len(ts.keys) == 0 {
			ts.keys = nil
		}
	}
}

// trim evicts the oldest messages beyond size.
func (ts *topicState) trim(size int) {
	for ts.len() > size {
		ts.evictOldest()
	}
}

// expire evicts the messages published at or before cutoff. Messages are
// retained in publish order, so it stops at the first younger one.
func (ts *topicState) expire(cutoff time.Time) {
	for ts.len() > 0 && !ts.oldest().Time.After(cutoff) {
		ts.evictOldest()
	}
}

// after returns the retained messages with a seq greater than seq, oldest
// first. The slice aliases the history and is valid only under the
// engine's mutex.
func (ts *topicState) after(seq uint64) []retained {
	r := ts.retained()
	i := sort.Search(len(r), func(i int) bool { return r[i].msg.ID.Seq > seq })
	return r[i:]
}

// expiryHeap is a min-heap of the topics that retain messages, ordered by
// expiryKey, so the janitor visits only topics with something to expire.
// It implements container/heap.Interface.
type expiryHeap []*topicState

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiryKey.Before(h[j].expiryKey) }

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *expiryHeap) Push(x any) {
	ts := x.(*topicState)
	ts.heapIdx = len(*h)
	*h = append(*h, ts)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old) - 1
	ts := old[n]
	old[n] = nil
	*h = old[:n]
	ts.heapIdx = -1
	return ts
}
