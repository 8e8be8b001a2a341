package bridge

import (
	"testing"

	"github.com/heraldhq/herald/engine"
)

// queuePostponer is an engine.Postponer that records its calls and takes
// the wake-ups over while take is set. The queue calls it on the test's
// goroutine.
type queuePostponer struct {
	take  bool
	calls []engine.Waker
}

func (p *queuePostponer) Postpone(w engine.Waker) bool {
	p.calls = append(p.calls, w)
	return p.take
}

// TestQueuePostponesWakeups: the queue between a remote stream and its
// reader asks its Postponer when an event arrives on an empty queue, not
// for those joining it, and leaves the wake-up to it when it takes it
// over; without one, or when it declines, the reader wakes at once; the
// end always wakes it at once.
func TestQueuePostponesWakeups(t *testing.T) {
	t.Parallel()
	var q eventQueue
	q.init(16, 1<<20)
	seq := uint64(0)
	push := func() {
		seq++
		q.mu.Lock()
		defer q.mu.Unlock()
		if !q.pushLocked(engine.Event{Message: &engine.Message{ID: engine.ID{Epoch: 1, Seq: seq}, Data: []byte("m")}}, true) {
			t.Fatal("the queue ended")
		}
	}
	ready := func() bool {
		select {
		case <-q.Ready():
			return true
		default:
			return false
		}
	}
	take := func(want int) {
		t.Helper()
		evs, err := q.TryNext(nil)
		if err != nil || len(evs) != want {
			t.Fatalf("TryNext: %d events, %v; want %d", len(evs), err, want)
		}
	}

	p := &queuePostponer{take: true}
	q.SetPostponer(p)
	push()
	push()
	if len(p.calls) != 1 || p.calls[0] != &q {
		t.Fatalf("two events on an empty queue: %d calls of Postpone (with %v), want one with the queue", len(p.calls), p.calls)
	}
	if ready() {
		t.Fatal("the reader was woken although the postponer took the wake-up over")
	}
	p.calls[0].Wake()
	if !ready() {
		t.Fatal("the postponer's Wake did not wake the reader")
	}
	take(2)

	p.take = false
	push()
	if r := ready(); len(p.calls) != 2 || !r {
		t.Fatalf("declined: %d calls, ready %v; want a second call and the reader woken", len(p.calls), r)
	}
	take(1)

	q.SetPostponer(nil)
	push()
	if r := ready(); len(p.calls) != 2 || !r {
		t.Fatalf("no postponer: %d calls, ready %v; want no call and the reader woken", len(p.calls), r)
	}
	take(1)

	p.take = true
	q.SetPostponer(p)
	q.mu.Lock()
	q.endLocked(engine.ErrClosed)
	q.mu.Unlock()
	if r := ready(); len(p.calls) != 2 || !r {
		t.Fatalf("the end: %d calls, ready %v; want no call and the reader woken", len(p.calls), r)
	}
}
