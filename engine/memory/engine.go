package memory

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// Engine is Herald's embedded engine: it keeps a bounded history per topic
// in memory and routes messages to subscriptions in the same process. Its
// history lasts as long as the Engine: a new Engine starts a new epoch.
//
// An Engine is safe for concurrent use. Close must be called to stop its
// background janitor.
type Engine struct {
	epoch       uint64
	historySize int
	ttl         time.Duration
	queueLen    int
	queueBytes  int
	now         func() time.Time

	stop        chan struct{} // closed by Close: the janitor returns
	janitorDone chan struct{} // closed by the janitor when it returns

	mu     sync.Mutex
	closed bool
	// seq is the seq of the newest accepted message (zero if none).
	seq uint64
	// forgottenUpTo is the highest lastSeq of the topics dropped while
	// idle: a resume from an older position may have missed their messages.
	forgottenUpTo uint64
	topics        map[string]*topicState
	expiry        expiryHeap               // topics that retain messages
	idle          map[*topicState]struct{} // emptied topics waiting to be dropped
	index         index
	subs          map[*subscription]struct{}
	overflowed    []*subscription // scratch for Publish
	matched       []*entry        // scratch for Publish
}

var _ engine.Engine = (*Engine)(nil)

// New returns a running Engine with a fresh random epoch.
func New(opts Options) *Engine {
	opts = opts.withDefaults()
	e := &Engine{
		epoch:       newEpoch(),
		historySize: opts.HistorySize,
		ttl:         opts.HistoryTTL,
		queueLen:    opts.QueueLen,
		queueBytes:  opts.QueueBytes,
		now:         opts.Now,
		stop:        make(chan struct{}),
		janitorDone: make(chan struct{}),
		topics:      make(map[string]*topicState),
		idle:        make(map[*topicState]struct{}),
		index:       newIndex(),
		subs:        make(map[*subscription]struct{}),
	}
	go e.janitor(opts.JanitorInterval)
	return e
}

// newEpoch returns a random non-zero epoch.
func newEpoch() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if ep := binary.LittleEndian.Uint64(b[:]); ep != 0 {
			return ep
		}
	}
}

// Publish validates, stores and delivers one message. It never blocks on
// subscribers.
func (e *Engine) Publish(ctx context.Context, req engine.PublishRequest) (engine.PublishResult, error) {
	if err := ctx.Err(); err != nil {
		return engine.PublishResult{}, err
	}
	if err := topic.Validate(req.Topic); err != nil {
		return engine.PublishResult{}, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return engine.PublishResult{}, engine.ErrClosed
	}
	now := e.now()
	ts := e.topics[req.Topic]
	if ts == nil {
		ts = newTopicState(req.Topic)
		e.topics[req.Topic] = ts
	} else {
		ts.expire(now.Add(-e.ttl))
		if m := ts.lookup(req.IdempotencyKey); m != nil {
			return engine.PublishResult{ID: m.ID, Time: m.Time, Duplicate: true}, nil
		}
	}

	e.seq++
	m := &engine.Message{
		ID:          engine.ID{Epoch: e.epoch, Seq: e.seq},
		Topic:       ts.name,
		Data:        req.Data,
		ContentType: req.ContentType,
		Event:       req.Event,
		Time:        now,
	}
	ts.push(m, req.IdempotencyKey)
	ts.trim(e.historySize)
	if ts.heapIdx < 0 {
		ts.expiryKey = now
		heap.Push(&e.expiry, ts)
		delete(e.idle, ts)
	}
	e.deliver(m)
	return engine.PublishResult{ID: m.ID, Time: now}, nil
}

// deliver offers m to every subscription with a matching pattern, once
// each, and unregisters those that overflowed. e.mu must be held.
func (e *Engine) deliver(m *engine.Message) {
	if ent := e.index.literal(m.Topic); ent != nil {
		for _, s := range ent.subs {
			e.offer(s, m)
		}
	}
	e.matched = e.index.matchWild(m.Topic, e.matched[:0])
	for _, ent := range e.matched {
		for _, s := range ent.subs {
			e.offer(s, m)
		}
	}
	clear(e.matched)
	if len(e.overflowed) > 0 {
		for _, s := range e.overflowed {
			e.unregister(s)
		}
		clear(e.overflowed)
		e.overflowed = e.overflowed[:0]
	}
}

// offer enqueues m to s unless s already has it (several of its patterns
// matched). e.mu must be held.
func (e *Engine) offer(s *subscription, m *engine.Message) {
	if s.lastSeq == m.ID.Seq {
		return
	}
	s.lastSeq = m.ID.Seq
	if !s.enqueue(m) {
		e.overflowed = append(e.overflowed, s)
	}
}

// register enters s into the index. e.mu must be held.
func (e *Engine) register(s *subscription) {
	e.index.add(s)
	e.subs[s] = struct{}{}
	s.registered = true
}

// unregister takes s out of the index, if it is still there. e.mu must be
// held.
func (e *Engine) unregister(s *subscription) {
	if !s.registered {
		return
	}
	e.index.remove(s)
	delete(e.subs, s)
	s.registered = false
}

// Close ends every subscription with ErrClosed, drops all history and
// stops the janitor. Later calls to Publish and Subscribe return
// ErrClosed. Close is idempotent and always returns nil; every call
// returns only once the janitor has stopped.
func (e *Engine) Close() error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.stop)
		for s := range e.subs {
			s.registered = false
			s.members = nil
			s.end(engine.ErrClosed)
		}
		e.subs = nil
		e.index = index{}
		e.topics = nil
		e.expiry = nil
		e.idle = nil
	}
	e.mu.Unlock()
	<-e.janitorDone
	return nil
}
