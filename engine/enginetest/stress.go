package enginetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// stressTimeout bounds a stress subscriber's wait for the end marker.
const stressTimeout = 3 * waitTimeout

// stressSubscriber is one resuming subscriber of testStress.
type stressSubscriber struct {
	patterns []topic.Pattern
	from     engine.ID // After, or Position for a live-only subscription
	sub      engine.Subscription
	got      []engine.ID // written by its reader goroutine only
}

// matches reports whether one of the subscriber's patterns matches name.
func (s *stressSubscriber) matches(name string) bool {
	return slices.ContainsFunc(s.patterns, func(p topic.Pattern) bool { return p.Match(name) })
}

// read collects message ids until the end marker, reporting problems on t.
func (s *stressSubscriber) read(t *testing.T, endTopic string) {
	ctx, cancel := context.WithTimeout(t.Context(), stressTimeout)
	defer cancel()
	var buf []engine.Event
	for {
		var err error
		buf, err = s.sub.Next(ctx, buf[:0])
		if err != nil {
			t.Errorf("subscriber %v from %s: Next after %d messages: %v", s.patterns, s.from, len(s.got), err)
			return
		}
		for _, ev := range buf {
			if ev.Gap != nil {
				t.Errorf("subscriber from %s: unexpected gap %+v", s.from, *ev.Gap)
				continue
			}
			s.got = append(s.got, ev.Message.ID)
			if ev.Message.Topic == endTopic && string(ev.Message.Data) == "end" {
				return
			}
		}
	}
}

// testStress: several publishers race a series of subscribers that resume
// from random recent ids (or start live). Every subscriber must see every
// matching message after its position exactly once, in order.
func testStress(t *testing.T, f Factory) {
	const (
		publishers     = 4
		perPublisher   = 400
		subscribeEvery = 40 // publisher 0 starts a subscriber this often
		recent         = 64 // resume from one of the last ids published
	)
	total := publishers*perPublisher + 1
	e := newEngine(t, f, Config{HistorySize: total, QueueLen: total})
	p := newPrefix()
	names := []string{p + ".s0", p + ".s1", p + ".s2.x", p + ".s3"}
	endTopic := names[0] // every pattern set below matches it
	patternSets := [][]string{
		{p + ".>"},
		{p + ".s0", p + ".s2.x"},
		{p + ".*"},
		{p + ".s0", p + ".*.x", p + ".>"},
	}

	type published struct {
		id    engine.ID
		topic string
	}
	var (
		mu   sync.Mutex
		sent []published
		subs []*stressSubscriber
	)
	var readers sync.WaitGroup
	startSubscriber := func(n int) {
		s := &stressSubscriber{patterns: patterns(t, patternSets[n%len(patternSets)]...)}
		mu.Lock()
		if len(sent) > 0 && n%4 != 3 {
			s.from = sent[len(sent)-1-rand.IntN(min(recent, len(sent)))].id
		}
		mu.Unlock()
		sub, err := e.Subscribe(t.Context(), engine.SubscribeRequest{Patterns: s.patterns, After: s.from})
		if err != nil {
			t.Errorf("Subscribe after %s: %v", s.from, err)
			return
		}
		s.sub = sub
		if s.from.IsZero() {
			s.from = sub.Position()
		}
		mu.Lock()
		subs = append(subs, s)
		mu.Unlock()
		readers.Go(func() { s.read(t, endTopic) })
	}

	var pubs sync.WaitGroup
	for w := range publishers {
		pubs.Go(func() {
			for i := range perPublisher {
				if w == 0 && i%subscribeEvery == 0 {
					startSubscriber(i / subscribeEvery)
				}
				name := names[rand.IntN(len(names))]
				res, err := e.Publish(t.Context(), engine.PublishRequest{Topic: name, Data: fmt.Appendf(nil, "%d-%d", w, i)})
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				mu.Lock()
				sent = append(sent, published{res.ID, name})
				mu.Unlock()
			}
		})
	}
	pubs.Wait()
	end := publishReq(t, e, engine.PublishRequest{Topic: endTopic, Data: []byte("end")})
	sent = append(sent, published{end.ID, endTopic})
	readers.Wait()
	for _, s := range subs {
		s.sub.Close()
	}
	if t.Failed() {
		return
	}

	slices.SortFunc(sent, func(a, b published) int { return cmp.Compare(a.id.Seq, b.id.Seq) })
	for _, s := range subs {
		var want []engine.ID
		for _, m := range sent {
			if m.id.Seq > s.from.Seq && s.matches(m.topic) {
				want = append(want, m.id)
			}
		}
		if !slices.Equal(s.got, want) {
			t.Errorf("subscriber %v from %s: got %d messages, want %d; first difference at %d",
				s.patterns, s.from, len(s.got), len(want), firstDifference(s.got, want))
		}
	}
	if len(subs) != perPublisher/subscribeEvery {
		t.Errorf("started %d subscribers, want %d", len(subs), perPublisher/subscribeEvery)
	}
}

// firstDifference returns the first index where a and b differ.
func firstDifference(a, b []engine.ID) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
