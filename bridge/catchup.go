package bridge

import (
	"context"

	"github.com/heraldhq/herald/engine"
)

// Bounds of a catch-up stream's log, which lets subscriptions resuming
// from the same position join the stream after it began.
const (
	catchUpLogLen   = 4096
	catchUpLogBytes = 16 << 20
)

// catchUp is a stream of the inner source that resumes from a position
// its hub's ring does not cover (an older id, or one of another epoch),
// with the replay, gaps and live messages that brings. The subscriptions
// resuming from that same position share it, as a topic's clients that
// all saw the same last message before a restart do: those that come
// while it is young replay its log first. As soon as it delivers a
// message the ring covers, its subscriptions hand over to the shared
// stream together and it closes.
type catchUp struct {
	hub        *hub
	after      engine.ID // the position it resumes from
	sub        Subscription
	subscribed Subscribed
	replayEnd  engine.ID // the upstream's position when it began: messages up to it are replayed history

	// Guarded by hub.mu.
	members  map[*member]struct{}
	log      []engine.Event // everything the stream delivered, while joinable
	logBytes int
	joinable bool // the log holds everything the stream delivered
	ended    bool
}

// startCatchUp runs own, a subscription of the inner source that resumes
// from after, as the catch-up stream of m.
func (h *hub) startCatchUp(m *member, own Subscription, after engine.ID) {
	g := &catchUp{
		hub: h, after: after, sub: own, subscribed: own.Subscribed(),
		members: map[*member]struct{}{m: {}}, joinable: true,
	}
	g.replayEnd, _ = engine.ParseID(g.subscribed.CurrentID)
	m.subscribed = g.subscribed
	s := h.src
	h.mu.Lock()
	if h.ended {
		// The shared stream ended while own was opened: end with it.
		h.mu.Unlock()
		own.Close()
		m.mu.Lock()
		m.endLocked(memberError(engine.ErrSubscriptionClosed))
		m.mu.Unlock()
		h.doneWaiting()
		return
	}
	m.group = g
	h.groups[g] = struct{}{}
	if cur := h.byAfter[after]; cur == nil || !cur.joinable {
		h.byAfter[after] = g
	}
	// Before Close can wait: Close ends the hub first, which takes h.mu.
	s.wg.Add(1)
	h.mu.Unlock()
	s.cfg.Metrics.CatchUp.Inc()
	go g.pump()
}

// joinLocked adds m, a subscription resuming from g's position on topics
// named names, if g may still be joined: m gets g's log first. hub.mu
// must be held.
func (g *catchUp) joinLocked(m *member, names []string) bool {
	if !g.joinable || g.ended {
		return false
	}
	m.mu.Lock()
	for _, ev := range g.log {
		m.pushLocked(ev, false)
	}
	m.mu.Unlock()
	m.subscribed = Subscribed{Topics: names, CurrentID: g.subscribed.CurrentID}
	m.group = g
	g.members[m] = struct{}{}
	return true
}

// pump is the catch-up stream's reader.
func (g *catchUp) pump() {
	h := g.hub
	s := h.src
	defer s.wg.Done()
	defer h.doneWaiting()
	defer s.cfg.Metrics.CatchUp.Dec()
	defer g.sub.Close()
	var buf []engine.Event
	for {
		var err error
		buf, err = g.sub.Next(context.Background(), buf[:0])
		if !g.deliver(buf, err) {
			return
		}
		clear(buf)
	}
}

// deliver queues the stream's events for its members (and in its log),
// ends them with err if the stream failed, and hands them over once the
// shared stream covers the last message. A member whose queue overflows
// leaves. It reports whether the stream goes on.
func (g *catchUp) deliver(evs []engine.Event, err error) bool {
	h := g.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if g.ended {
		return false
	}
	var last engine.ID
	for _, ev := range evs {
		live := true
		if msg := ev.Message; msg != nil {
			last = msg.ID
			live = !(msg.ID.Epoch == g.replayEnd.Epoch && msg.ID.Seq <= g.replayEnd.Seq)
		}
		g.record(ev)
		for m := range g.members {
			m.mu.Lock()
			ok := m.pushLocked(ev, live)
			m.mu.Unlock()
			if !ok {
				delete(g.members, m)
				m.group = nil
			}
		}
	}
	switch {
	case err != nil:
		for m := range g.members {
			m.mu.Lock()
			m.endLocked(err)
			m.mu.Unlock()
			m.group = nil
		}
	case !last.IsZero() && h.canAdopt(last):
		for m := range g.members {
			h.adoptLocked(m, last)
			m.group = nil
		}
	case len(g.members) > 0:
		return true
	}
	g.endLocked()
	return false
}

// record keeps ev in the log while the stream may be joined; past the
// log's bounds it may no longer be. hub.mu must be held.
func (g *catchUp) record(ev engine.Event) {
	if !g.joinable {
		return
	}
	g.log = append(g.log, ev)
	if ev.Message != nil {
		g.logBytes += len(ev.Message.Data)
	}
	if len(g.log) > catchUpLogLen || g.logBytes > catchUpLogBytes {
		g.joinable = false
		clear(g.log)
		g.log = nil
	}
}

// endLocked marks the stream ended and forgets it; its subscription is
// closed by whoever ended it, or by the pump. hub.mu must be held.
func (g *catchUp) endLocked() {
	h := g.hub
	g.ended = true
	g.members = nil
	clear(g.log)
	g.log = nil
	delete(h.groups, g)
	if h.byAfter[g.after] == g {
		delete(h.byAfter, g.after)
	}
}
