package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/subreq"
	"github.com/heraldhq/herald/metrics"
)

// Defaults of SharedConfig.
const (
	// DefaultShareRing is how many of their latest messages shared
	// streams keep for clients that resume.
	DefaultShareRing = 256
	// DefaultShareRingBytes bounds the same messages in payload bytes.
	DefaultShareRingBytes = 1 << 20
	// DefaultShareLinger is how long a shared stream stays open after its
	// last subscriber left.
	DefaultShareLinger = 10 * time.Second
)

// maxHubAttempts bounds how many shared streams one Subscribe starts or
// finds that end before it can join them.
const maxHubAttempts = 3

// SharedConfig configures NewSharedSource. The zero value is ready to use:
// every zero field means its documented default.
type SharedConfig struct {
	// QueueLen bounds, in events, the live events a subscription buffers
	// for its reader; the one that overflows it ends that subscription
	// alone with engine.ErrSlowConsumer. Zero means DefaultRemoteQueueLen.
	QueueLen int
	// QueueBytes bounds the same events in payload bytes. Zero means
	// DefaultRemoteQueueBytes.
	QueueBytes int
	// Ring is how many of its latest messages a shared stream keeps, so
	// that a client resuming from one of them joins the stream at once,
	// and clients catching up on a catch-up stream hand over to the
	// shared one as soon as it reaches them. Zero means DefaultShareRing.
	Ring int
	// RingBytes bounds the same messages in payload bytes (the newest is
	// kept whatever its size). Zero means DefaultShareRingBytes.
	RingBytes int
	// Linger is how long a shared stream stays open once nobody reads it,
	// so that clients reconnecting meanwhile resume from its ring. Zero
	// means DefaultShareLinger; negative closes it at once.
	Linger time.Duration
	// Metrics receives the count of upstream streams and handovers. Nil
	// means instruments that nothing exports.
	Metrics *metrics.Upstream
}

// withDefaults returns c with its zero fields set to the defaults.
func (c SharedConfig) withDefaults() SharedConfig {
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultRemoteQueueLen
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultRemoteQueueBytes
	}
	if c.Ring <= 0 {
		c.Ring = DefaultShareRing
	}
	if c.RingBytes <= 0 {
		c.RingBytes = DefaultShareRingBytes
	}
	if c.Linger == 0 {
		c.Linger = DefaultShareLinger
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewUpstream(nil)
	}
	return c
}

// SharedSource is a Source that serves all the subscriptions to one set
// of topics from a single live subscription of an inner Source: for
// `herald bridge`, one upstream stream per topic set instead of one per
// browser, so that the upstream sends each message once to each bridge
// and bridges take the fan-out to browsers off it.
//
// A client that subscribes live joins the shared stream at its current
// position. One that resumes from an id the shared stream's ring still
// covers joins it after that id, with the messages since replayed from
// the ring. Any other resume (an older id, or one of another epoch or
// ahead of the shared stream) reads a catch-up stream of the inner
// source, which replays history with its gaps as usual; subscriptions
// resuming from the same id share one (after a restart, a topic's
// clients all resume from the last message they saw). As soon as the
// catch-up stream delivers a message the ring covers, its subscriptions
// hand over to the shared stream and it closes. Positions are the
// engine's single order of messages (engine.ID), so the handover neither
// skips nor repeats a message.
//
// Each subscription has its own bounded queue: a slow reader ends alone
// with engine.ErrSlowConsumer. When the shared stream ends (its upstream
// failed or restarted), every subscription on it ends with
// engine.ErrClosed, and its clients reconnect and resume.
//
// A shared stream is opened with the context of the subscriber that
// starts it, and serves everyone after: the inner source must
// authenticate as itself (a credential on its connection, as `herald
// bridge` does with its upstream token), never with one client's
// credential from that context. Clients are authorized before they
// subscribe, by the transports.
//
// A SharedSource is safe for concurrent use. Close it when done.
type SharedSource struct {
	inner Source
	cfg   SharedConfig

	mu     sync.Mutex
	hubs   map[string]*hub // by shareKey
	closed bool
	wg     sync.WaitGroup // hub readers
}

var _ Source = (*SharedSource)(nil)

// NewSharedSource returns a SharedSource over inner.
func NewSharedSource(inner Source, cfg SharedConfig) *SharedSource {
	return &SharedSource{inner: inner, cfg: cfg.withDefaults(), hubs: make(map[string]*hub)}
}

// shareKey is the key of a topic set: its names in a fixed order, so
// that clients listing the same topics differently share a stream.
func shareKey(names []string) string {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	return strings.Join(sorted, "\x00")
}

// Subscribe validates req and joins the shared stream of its topics,
// starting that stream if there is none, or a catch-up stream until it
// can hand over, opening one if none may be joined (see SharedSource).
func (s *SharedSource) Subscribe(ctx context.Context, req Request) (Subscription, error) {
	parsed, err := subreq.Parse(req.Topics, req.LastEventID)
	if err != nil {
		return nil, err
	}
	key := shareKey(parsed.Names)
	for attempt := 1; ; attempt++ {
		h, err := s.hub(ctx, key, parsed.Names)
		if err != nil {
			return nil, err
		}
		m, outcome := h.join(parsed)
		switch outcome {
		case joined:
			return m, nil
		case hubEnded:
			// It has left the map; the next turn starts another, unless
			// the upstream keeps ending streams as soon as they start.
			if attempt == maxHubAttempts {
				return nil, status.Error(codes.Unavailable, msgUpstreamUnavailable)
			}
			continue
		}
		own, err := s.inner.Subscribe(ctx, req)
		if err != nil {
			h.doneWaiting()
			return nil, err
		}
		h.startCatchUp(m, own, parsed.After)
		return m, nil
	}
}

// hub returns the running shared stream of key, starting it if there is
// none, once it is running.
func (s *SharedSource) hub(ctx context.Context, key string, names []string) (*hub, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, status.Error(codes.Unavailable, msgShuttingDown)
		}
		h := s.hubs[key]
		if h == nil {
			h = &hub{
				src: s, key: key, ready: make(chan struct{}),
				members: make(map[*member]struct{}),
				groups:  make(map[*catchUp]struct{}),
				byAfter: make(map[engine.ID]*catchUp),
			}
			s.hubs[key] = h
			s.wg.Add(1)
			s.mu.Unlock()
			h.start(ctx, names)
		} else {
			s.mu.Unlock()
		}
		select {
		case <-h.ready:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		switch {
		case h.setupErr == nil:
			return h, nil
		case h.setupAbandoned && ctx.Err() == nil:
			continue // its starter gave up; this caller tries again
		}
		return nil, h.setupErr
	}
}

// Close ends every shared and catch-up stream, and with them the
// subscriptions on them (engine.ErrClosed), refuses further subscriptions
// with Unavailable, and waits for the streams' readers to return.
func (s *SharedSource) Close() {
	s.mu.Lock()
	s.closed = true
	hubs := make([]*hub, 0, len(s.hubs))
	for _, h := range s.hubs {
		hubs = append(hubs, h)
	}
	s.mu.Unlock()
	for _, h := range hubs {
		<-h.ready
		h.end(fmt.Errorf("%w: the bridge is shutting down", engine.ErrClosed), nil)
	}
	s.wg.Wait()
}

// hub is one shared stream: a live subscription of the inner source, its
// members, and a ring of its latest messages.
type hub struct {
	src *SharedSource
	key string

	// ready is closed once start has returned; setupErr, setupAbandoned,
	// sub and epoch are set before and never change after.
	ready          chan struct{}
	setupErr       error
	setupAbandoned bool // setupErr is the starter's own context ending
	sub            Subscription
	epoch          uint64

	mu      sync.Mutex
	ended   bool
	pos     engine.ID         // the stream's position: its start, then its last message
	base    engine.ID         // the ring holds every message of the stream after base
	ring    []*engine.Message // ring[head:] are the messages after base, oldest first
	head    int               // evicted slots at the front of ring
	bytes   int               // payload bytes of ring[head:]
	members map[*member]struct{}
	groups  map[*catchUp]struct{}  // catch-up streams running
	byAfter map[engine.ID]*catchUp // those that subscriptions may still join, by their resume position
	waiting int                    // catch-up streams, and those being opened, that may hand over
	linger  *time.Timer            // set while nobody reads the stream
}

// start subscribes to the inner source, live only, and starts the reader.
// It is called once, by the subscriber that made the hub.
func (h *hub) start(ctx context.Context, names []string) {
	s := h.src
	defer close(h.ready)
	sub, err := s.inner.Subscribe(ctx, Request{Topics: names})
	if err == nil {
		pos, perr := engine.ParseID(sub.Subscribed().CurrentID)
		if perr != nil || pos.IsZero() {
			sub.Close()
			err = status.Error(codes.Unavailable, msgUpstreamUnavailable)
		} else {
			h.sub, h.epoch, h.pos, h.base = sub, pos.Epoch, pos, pos
			s.cfg.Metrics.Shared.Inc()
		}
	}
	if err != nil {
		h.setupErr = err
		h.setupAbandoned = ctx.Err() != nil
		h.mu.Lock()
		h.ended = true
		h.mu.Unlock()
		s.mu.Lock()
		if s.hubs[h.key] == h {
			delete(s.hubs, h.key)
		}
		s.mu.Unlock()
		s.wg.Done()
		return
	}
	go h.run()
}

// joinOutcome says what join did.
type joinOutcome int

const (
	joined   joinOutcome = iota // the member reads the shared stream
	needsOwn                    // the member needs a catch-up stream
	hubEnded                    // the hub has ended; start another
)

// join makes the member of a subscription request: joined to the stream
// when it is live only or resumes from a position the ring covers, joined
// to the catch-up stream of others resuming from the same position if
// there is one it may still join, and otherwise in need of a catch-up
// stream of its own.
func (h *hub) join(req subreq.Request) (*member, joinOutcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return nil, hubEnded
	}
	h.stopLinger()
	m := &member{hub: h}
	m.init(h.src.cfg.QueueLen, h.src.cfg.QueueBytes)
	after := req.After
	if !after.IsZero() && !h.covers(after) {
		if g := h.byAfter[after]; g != nil && g.joinLocked(m, req.Names) {
			return m, joined
		}
		h.waiting++
		return m, needsOwn
	}
	if !after.IsZero() {
		for _, msg := range h.since(after) {
			m.pushLocked(engine.Event{Message: msg}, false)
		}
	}
	m.subscribed = Subscribed{Topics: req.Names, CurrentID: h.pos.String()}
	m.pos = h.pos
	h.members[m] = struct{}{}
	return m, joined
}

// covers reports whether the ring holds every message of the stream after
// p, and p is not ahead of the stream. h.mu must be held.
func (h *hub) covers(p engine.ID) bool {
	return p.Epoch == h.epoch && p.Seq >= h.base.Seq && p.Seq <= h.pos.Seq
}

// since returns the ring's messages after p, which it covers. h.mu must be
// held.
func (h *hub) since(p engine.ID) []*engine.Message {
	kept := h.ring[h.head:]
	i := sort.Search(len(kept), func(i int) bool { return kept[i].ID.Seq > p.Seq })
	return kept[i:]
}

// canAdopt reports whether subscriptions whose catch-up stream's last
// message was at p may hand over: the ring covers p. h.mu must be held.
func (h *hub) canAdopt(p engine.ID) bool {
	return !h.ended && p.Epoch == h.epoch && p.Seq >= h.base.Seq
}

// adoptLocked hands m over to the shared stream from a catch-up stream
// whose last message was at p, which canAdopt allowed: m gets the ring's
// messages after p, or, when its stream ran ahead of the shared one,
// skips the shared stream's messages up to p. A member that has ended
// meanwhile is left out. h.mu must be held.
func (h *hub) adoptLocked(m *member, p engine.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	h.src.cfg.Metrics.Handovers.Inc()
	if p.Seq < h.pos.Seq {
		for _, msg := range h.since(p) {
			m.pushLocked(engine.Event{Message: msg}, false)
		}
		m.pos = h.pos
	} else {
		m.pos = p // ahead of the stream: what the stream brings up to p is not repeated
	}
	h.members[m] = struct{}{}
}

// doneWaiting counts out a catch-up stream (or one that failed to open)
// that no longer waits to hand over.
func (h *hub) doneWaiting() {
	h.mu.Lock()
	h.waiting--
	idle := h.idleLocked()
	h.mu.Unlock()
	if idle {
		h.idle()
	}
}

// leave removes m from the stream, or from its catch-up stream, which
// closes when its last member leaves.
func (h *hub) leave(m *member) {
	h.mu.Lock()
	var emptied *catchUp
	if g := m.group; g != nil {
		delete(g.members, m)
		m.group = nil
		if len(g.members) == 0 && !g.ended {
			g.endLocked()
			emptied = g
		}
	}
	_, in := h.members[m]
	delete(h.members, m)
	idle := in && h.idleLocked()
	h.mu.Unlock()
	if emptied != nil {
		emptied.sub.Close() // its pump returns and counts it out
	}
	if idle {
		h.idle()
	}
}

// idleLocked reports whether nobody reads the stream or waits to. h.mu
// must be held.
func (h *hub) idleLocked() bool {
	return !h.ended && len(h.members) == 0 && h.waiting == 0
}

// idle lingers, or ends the stream at once when Linger is negative.
func (h *hub) idle() {
	linger := h.src.cfg.Linger
	if linger < 0 {
		h.end(nil, (*hub).idleLocked)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.idleLocked() {
		return
	}
	if h.linger == nil {
		h.linger = time.AfterFunc(linger, func() { h.end(nil, (*hub).idleLocked) })
	} else {
		h.linger.Reset(linger)
	}
}

// stopLinger stops the linger timer. h.mu must be held.
func (h *hub) stopLinger() {
	if h.linger != nil {
		h.linger.Stop()
	}
}

// end ends the stream, if onlyIf is nil or holds (called with h.mu
// held): it leaves the source's map, its members and those of its
// catch-up streams end with err (engine.ErrClosed when nil), and its inner
// subscription and catch-up streams close.
func (h *hub) end(err error, onlyIf func(*hub) bool) {
	s := h.src
	s.mu.Lock()
	h.mu.Lock()
	if h.ended || (onlyIf != nil && !onlyIf(h)) {
		h.mu.Unlock()
		s.mu.Unlock()
		return
	}
	h.ended = true
	if s.hubs[h.key] == h {
		delete(s.hubs, h.key)
	}
	members := h.members
	h.members = nil
	var groups []*catchUp
	for g := range h.groups {
		for m := range g.members {
			members[m] = struct{}{}
			m.group = nil
		}
		g.endLocked()
		groups = append(groups, g)
	}
	h.stopLinger()
	clear(h.ring)
	h.ring = nil
	h.mu.Unlock()
	s.mu.Unlock()

	if err == nil {
		err = fmt.Errorf("%w: the shared stream closed", engine.ErrClosed)
	}
	for m := range members {
		m.mu.Lock()
		m.endLocked(err)
		m.mu.Unlock()
	}
	for _, g := range groups {
		g.sub.Close()
	}
	h.sub.Close()
	s.cfg.Metrics.Shared.Dec()
}

// run is the hub's reader: it moves the inner subscription's events into
// the ring and its members' queues until the subscription ends.
func (h *hub) run() {
	defer h.src.wg.Done()
	var buf []engine.Event
	for {
		var err error
		buf, err = h.sub.Next(context.Background(), buf[:0])
		h.mu.Lock()
		for _, ev := range buf {
			h.deliverLocked(ev)
		}
		idle := h.idleLocked()
		h.mu.Unlock()
		clear(buf)
		if err != nil {
			h.end(memberError(err), nil)
			return
		}
		if idle {
			h.idle() // slow members were dropped
		}
	}
}

// deliverLocked keeps a message in the ring and queues ev for every
// member it is news to; a member whose queue overflows leaves. h.mu must
// be held.
func (h *hub) deliverLocked(ev engine.Event) {
	if h.ended {
		return
	}
	msg := ev.Message
	if msg != nil {
		h.remember(msg)
	}
	for m := range h.members {
		if msg != nil && msg.ID.Epoch == m.pos.Epoch && msg.ID.Seq <= m.pos.Seq {
			continue // it had this one before it joined
		}
		m.mu.Lock()
		ok := m.pushLocked(ev, msg != nil)
		m.mu.Unlock()
		if !ok {
			delete(h.members, m)
		}
	}
}

// remember appends msg to the ring, evicting the oldest messages past its
// bounds. h.mu must be held.
func (h *hub) remember(msg *engine.Message) {
	h.ring = append(h.ring, msg)
	h.bytes += len(msg.Data)
	h.pos = msg.ID
	cfg := h.src.cfg
	for n := len(h.ring) - h.head; n > cfg.Ring || (n > 1 && h.bytes > cfg.RingBytes); n-- {
		old := h.ring[h.head]
		h.ring[h.head] = nil
		h.head++
		h.bytes -= len(old.Data)
		h.base = old.ID
	}
	if h.head >= 64 && h.head > len(h.ring)/2 {
		n := copy(h.ring, h.ring[h.head:])
		clear(h.ring[n:])
		h.ring = h.ring[:n]
		h.head = 0
	}
}

// memberError is the error the members of a shared stream end with when
// the stream ended with err: the upstream's verdict that the shared
// stream fell behind is no reader's fault, so its readers reconnect and
// resume like after any other loss.
func memberError(err error) error {
	switch {
	case errors.Is(err, engine.ErrSlowConsumer):
		return fmt.Errorf("%w: the shared stream fell behind its upstream", engine.ErrClosed)
	case errors.Is(err, engine.ErrSubscriptionClosed):
		return fmt.Errorf("%w: the shared stream closed", engine.ErrClosed)
	}
	return err
}

// member is a Subscription of a SharedSource: a queue filled by the hub,
// or first by a catch-up stream.
type member struct {
	eventQueue
	hub        *hub
	subscribed Subscribed
	pos        engine.ID // guarded by hub.mu: the stream's messages up to it are not news
	group      *catchUp  // guarded by hub.mu: the catch-up stream it reads, until it hands over
}

var _ Subscription = (*member)(nil)

// Subscribed returns the confirmation.
func (m *member) Subscribed() Subscribed { return m.subscribed }

// Close ends the subscription, drops what is queued and frees its part of
// the shared or catch-up stream.
func (m *member) Close() {
	m.mu.Lock()
	m.dropLocked(engine.ErrSubscriptionClosed)
	m.mu.Unlock()
	m.hub.leave(m)
}
