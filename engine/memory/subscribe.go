package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// Subscribe registers a subscription and, when req.After is set, snapshots
// the retained messages after it. Both happen under the engine's mutex, the
// one Publish holds, so the replay ends exactly where live delivery starts.
func (e *Engine) Subscribe(ctx context.Context, req engine.SubscribeRequest) (engine.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	patterns, err := distinctPatterns(req.Patterns)
	if err != nil {
		return nil, err
	}
	s := &subscription{
		e:          e,
		patterns:   patterns,
		queueLen:   e.queueLen,
		queueBytes: e.queueBytes,
		wake:       make(chan struct{}, 1),
	}
	if req.QueueLen > 0 {
		s.queueLen = req.QueueLen
	}
	if req.QueueBytes > 0 {
		s.queueBytes = req.QueueBytes
	}

	var snap snapshot
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, engine.ErrClosed
	}
	after := req.After
	if !after.IsZero() && after.Epoch == e.epoch && after.Seq > e.seq {
		newest := e.seq
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: %s lies beyond the %d messages accepted so far", engine.ErrFutureID, after, newest)
	}
	s.position = engine.ID{Epoch: e.epoch, Seq: e.seq}
	e.register(s)
	if !after.IsZero() {
		snap = e.snapshot(patterns, after)
	}
	e.mu.Unlock()

	if !after.IsZero() {
		replay := snap.events(patterns, after)
		s.mu.Lock()
		if s.err == nil && len(replay) > 0 {
			s.replay = replay
		}
		s.mu.Unlock()
	}
	return s, nil
}

// distinctPatterns returns the patterns without duplicates, in the order
// given. It refuses an empty list and zero Patterns.
func distinctPatterns(in []topic.Pattern) ([]topic.Pattern, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: subscribe needs at least one topic", topic.ErrInvalid)
	}
	out := make([]topic.Pattern, 0, len(in))
	for _, p := range in {
		if p.String() == "" {
			return nil, fmt.Errorf("%w: empty pattern", topic.ErrInvalid)
		}
		if !slices.ContainsFunc(out, func(q topic.Pattern) bool { return q.String() == p.String() }) {
			out = append(out, p)
		}
	}
	return out, nil
}

// snapshot is what Subscribe copies out of the history under the engine's
// mutex; events turns it into the replay without holding the mutex.
type snapshot struct {
	foreign   bool         // After is from another epoch
	forgotten bool         // After predates a forgotten topic's messages
	gaps      []engine.Gap // truncated topics (same epoch only)
	msgs      []*engine.Message
	runs      int // number of per-topic runs in msgs, each in seq order
}

// snapshot collects the replay after the position after. e.mu must be
// held.
func (e *Engine) snapshot(patterns []topic.Pattern, after engine.ID) snapshot {
	snap := snapshot{foreign: after.Epoch != e.epoch}
	from := after.Seq
	if snap.foreign {
		from = 0
	} else {
		snap.forgotten = after.Seq < e.forgottenUpTo
	}
	cutoff := e.now().Add(-e.ttl)
	e.matchingTopics(patterns, func(ts *topicState) {
		ts.expire(cutoff)
		if !snap.foreign && after.Seq < ts.evictedUpTo {
			snap.gaps = append(snap.gaps, engine.Gap{
				Topics:         []string{ts.name},
				Requested:      after,
				FirstAvailable: ts.oldestID(),
				Reason:         engine.GapTruncated,
			})
		}
		rs := ts.after(from)
		if len(rs) == 0 {
			return
		}
		snap.msgs = slices.Grow(snap.msgs, len(rs))
		for _, r := range rs {
			snap.msgs = append(snap.msgs, r.msg)
		}
		snap.runs++
	})
	return snap
}

// matchingTopics calls fn for every known topic that matches one of the
// distinct patterns, once each. e.mu must be held.
func (e *Engine) matchingTopics(patterns []topic.Pattern, fn func(*topicState)) {
	wild := slices.ContainsFunc(patterns, func(p topic.Pattern) bool { return !p.IsLiteral() })
	if !wild {
		for _, p := range patterns {
			if ts := e.topics[p.String()]; ts != nil {
				fn(ts)
			}
		}
		return
	}
	for name, ts := range e.topics {
		for _, p := range patterns {
			if p.Match(name) {
				fn(ts)
				break
			}
		}
	}
}

// events builds the replay: gap notices first, then the messages merged
// across topics in seq order.
func (snap *snapshot) events(patterns []topic.Pattern, after engine.ID) []engine.Event {
	if snap.runs > 1 {
		slices.SortFunc(snap.msgs, func(a, b *engine.Message) int { return cmp.Compare(a.ID.Seq, b.ID.Seq) })
	}
	var first engine.ID
	if len(snap.msgs) > 0 {
		first = snap.msgs[0].ID
	}
	n := len(snap.gaps) + len(snap.msgs)
	if snap.foreign || snap.forgotten {
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]engine.Event, 0, n)
	if snap.foreign {
		out = append(out, engine.Event{Gap: &engine.Gap{
			Topics:         patternStrings(patterns),
			Requested:      after,
			FirstAvailable: first,
			Reason:         engine.GapEpochChanged,
		}})
	}
	slices.SortFunc(snap.gaps, func(a, b engine.Gap) int { return cmp.Compare(a.Topics[0], b.Topics[0]) })
	for i := range snap.gaps {
		out = append(out, engine.Event{Gap: &snap.gaps[i]})
	}
	if snap.forgotten {
		out = append(out, engine.Event{Gap: &engine.Gap{
			Topics:         patternStrings(patterns),
			Requested:      after,
			FirstAvailable: first,
			Reason:         engine.GapTruncated,
		}})
	}
	for _, m := range snap.msgs {
		out = append(out, engine.Event{Message: m})
	}
	return out
}

func patternStrings(patterns []topic.Pattern) []string {
	out := make([]string, len(patterns))
	for i, p := range patterns {
		out[i] = p.String()
	}
	return out
}
