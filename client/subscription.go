package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// Subscription is a resuming subscription to one or more topics or
// patterns, created by Client.Subscribe. See the package documentation for
// how it resumes and which errors it retries.
//
// Next must be called from one goroutine at a time; LastEventID and Close
// are safe for concurrent use.
type Subscription struct {
	rpc      heraldv1.PubSubServiceClient
	callOpts []grpc.CallOption
	topics   []string
	backoff  backoff
	timeout  time.Duration // for the subscribed frame

	cancel context.CancelFunc
	events chan Event    // unbuffered: the run goroutine hands over one at a time
	done   chan struct{} // closed when the run goroutine has returned
	closed atomic.Bool   // Close was called

	mu     sync.Mutex
	lastID string // resume point
	err    error  // why the subscription ended; set before done is closed
}

// Subscribe subscribes to topics (topic names or patterns with `*` and
// `>`) and keeps the subscription going, reconnecting as needed, until
// Close, the end of ctx, or an error that retrying cannot fix. It returns at
// once; the first stream is set up in the background and announced by a
// KindConnected event (errors, including bad topics, come from Next).
func (c *Client) Subscribe(ctx context.Context, topics []string, opts ...SubscribeOption) *Subscription {
	var cfg subscribeConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.subscribeTimeout <= 0 {
		cfg.subscribeTimeout = DefaultSubscribeTimeout
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Subscription{
		rpc:      c.rpc,
		callOpts: c.callOpts,
		topics:   slices.Clone(topics),
		backoff:  newBackoff(cfg.initialBackoff, cfg.maxBackoff),
		timeout:  cfg.subscribeTimeout,
		cancel:   cancel,
		events:   make(chan Event),
		done:     make(chan struct{}),
		lastID:   cfg.lastEventID,
	}
	go s.run(ctx)
	return s
}

// Next returns the next event, blocking until there is one or ctx ends (then
// it returns ctx's error and the subscription goes on). Once the
// subscription has ended, Next returns why: ErrClosed after Close, the
// error of the context given to Subscribe when that ended, or the gRPC
// status error that ended it for good.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	select {
	case ev := <-s.events:
		if ev.Kind == KindMessage {
			s.setLastID(ev.Message.GetId())
		}
		return ev, nil
	case <-s.done:
		return Event{}, s.endErr()
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// LastEventID is the id the subscription resumes after: that of the last
// message Next returned or, before any, the id given with WithLastEventID
// or else the server's position when the first stream started. Persist it
// to resume in a later run with WithLastEventID.
func (s *Subscription) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Close ends the subscription and waits until its goroutine has stopped.
// Next then returns ErrClosed (or the error that had already ended the
// subscription). Close is safe to call more than once and always returns
// nil.
func (s *Subscription) Close() error {
	s.closed.Store(true)
	s.cancel()
	<-s.done
	return nil
}

func (s *Subscription) setLastID(id string) {
	s.mu.Lock()
	s.lastID = id
	s.mu.Unlock()
}

func (s *Subscription) endErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// run subscribes, and resubscribes after retryable failures, until ctx ends
// or a failure is final.
func (s *Subscription) run(ctx context.Context) {
	defer close(s.done)
	attempt := 0
	for {
		connected, err := s.stream(ctx)
		if ctx.Err() != nil {
			s.end(ctx)
			return
		}
		if !retryableAfter(err, connected) {
			s.fail(err)
			return
		}
		if connected {
			attempt = 0
		}
		attempt++
		delay := s.backoff.delay(attempt)
		if !s.emit(ctx, Event{Kind: KindReconnecting, Err: err, Attempt: attempt, Delay: delay}) {
			s.end(ctx)
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.end(ctx)
			return
		}
	}
}

// end records why the subscription's context ended.
func (s *Subscription) end(ctx context.Context) {
	if s.closed.Load() {
		s.fail(ErrClosed)
		return
	}
	s.fail(ctx.Err())
}

func (s *Subscription) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// emit hands ev to Next, or gives up when ctx ends.
func (s *Subscription) emit(ctx context.Context, ev Event) bool {
	select {
	case s.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream runs one attempt: it subscribes from the last id and hands the
// stream's events to Next until the stream fails or ctx ends. connected
// reports whether the server confirmed the subscription.
//
// One timer watches the stream: it is armed only while waiting for a frame,
// first for the subscribe timeout and then, once the subscribed frame named
// the heartbeat interval, for twice that interval. When it fires it cancels
// the attempt, and the resulting error is reported as ErrDeadStream. Time
// spent waiting for the reader in emit does not count.
func (s *Subscription) stream(ctx context.Context) (connected bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var dead atomic.Bool
	idle := s.timeout
	watchdog := time.AfterFunc(idle, func() {
		dead.Store(true)
		cancel()
	})
	defer watchdog.Stop()
	failed := func(err error) error {
		if dead.Load() && ctx.Err() == nil {
			return fmt.Errorf("%w (%v without a frame)", ErrDeadStream, idle)
		}
		if errors.Is(err, io.EOF) {
			return ErrStreamEnded
		}
		return err
	}

	st, err := s.rpc.Subscribe(sctx, &heraldv1.SubscribeRequest{
		Topics:      s.topics,
		LastEventId: s.LastEventID(),
	}, s.callOpts...)
	if err != nil {
		return false, failed(err)
	}
	for {
		resp, err := st.Recv()
		watchdog.Stop()
		if err != nil {
			return connected, failed(err)
		}
		switch f := resp.GetFrame().(type) {
		case *heraldv1.SubscribeResponse_Subscribed:
			connected = true
			idle = 2 * f.Subscribed.GetHeartbeatInterval().AsDuration()
			s.mu.Lock()
			if s.lastID == "" {
				s.lastID = f.Subscribed.GetCurrentId()
			}
			s.mu.Unlock()
			if !s.emit(ctx, Event{Kind: KindConnected, Subscribed: f.Subscribed}) {
				return connected, ctx.Err()
			}
		case *heraldv1.SubscribeResponse_Message:
			if !s.emit(ctx, Event{Kind: KindMessage, Message: f.Message}) {
				return connected, ctx.Err()
			}
			// Next has recorded it too; recording it here as well makes
			// sure a resubscribe after this point starts after it.
			s.setLastID(f.Message.GetId())
		case *heraldv1.SubscribeResponse_HistoryGap:
			if !s.emit(ctx, Event{Kind: KindGap, Gap: f.HistoryGap}) {
				return connected, ctx.Err()
			}
		}
		// Heartbeats and frames of newer servers only prove the stream alive.
		if idle > 0 && !dead.Load() {
			watchdog.Reset(idle)
		}
	}
}
