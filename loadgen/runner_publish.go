package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// publisherReadyTimeout bounds the wait for the publishers' connection.
const publisherReadyTimeout = 10 * time.Second

// publishPhase publishes for the warm-up and the measured window, then
// waits for the messages in flight, recording the window's deliveries and
// the server's CPU time over it.
func (r *runner) publishPhase(ctx context.Context) error {
	cc, err := newGRPCClient(r.grpcTarget, r.dialers().dialTarget(0, r.grpcTarget))
	if err != nil {
		return fmt.Errorf("loadgen: publisher connection: %w", err)
	}
	defer cc.Close()
	if err := waitReady(ctx, cc); err != nil {
		return fmt.Errorf("loadgen: publisher connection to %v: %w", r.grpcTarget, err)
	}
	client := heraldv1.NewPubSubServiceClient(cc)

	n := r.state.numPublishers
	start := r.state.clock() + publishLead
	windowStart := start + r.cfg.Warmup
	end := windowStart + r.cfg.Duration
	r.state.windowStart.Store(int64(windowStart))
	r.log.Info("publishing", "rate", r.cfg.Rate, "publishers", n, "warmup", r.cfg.Warmup, "duration", r.cfg.Duration,
		"deliveries_per_second", r.cfg.Rate*int(r.connected.Load()))

	pubCtx, stopPublishing := context.WithCancel(ctx)
	defer stopPublishing()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		p := &publisher{run: r.state, id: k, client: client, topic: r.cfg.Topic, size: r.cfg.PayloadSize}
		r.pubs = append(r.pubs, p)
		wg.Go(func() {
			errs[k] = p.publish(pubCtx, schedule{start: start, end: end, rate: float64(r.cfg.Rate), n: n, k: k})
			if errs[k] != nil {
				stopPublishing() // one publisher giving up ends the run
			}
		})
	}
	// The window ends early only when publishing stopped early: a publisher
	// gave up, or ctx ended.
	failed := func() bool { return pubCtx.Err() != nil }
	progress := func() {
		r.log.Info("publishing", "published", r.published(), "received", r.received(), "alive", r.alive(), "lost", r.losses.count())
	}
	r.waitUntil(ctx, windowStart, failed, progress)
	c0, recv0 := r.sampleCPU(), r.received()
	r.waitUntil(ctx, end, failed, progress)
	c1, recv1 := r.sampleCPU(), r.received()
	r.publishSpan = min(c1.at, end) - start
	wg.Wait() // publishers stop by themselves at the end, or with pubCtx

	if c0.at < windowStart || c1.at <= c0.at {
		// Interrupted or failed before the window began: nothing measured.
		c1 = c0
	}
	r.rep.setCPU(c0, c1, recv1-recv0)
	r.rep.setWindow(c1.at-c0.at, recv1-recv0)

	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", errPublishersFailed, err)
	}
	if ctx.Err() == nil {
		r.drain(ctx)
	}
	return nil
}

// drain waits, at most the configured drain time, until every subscriber
// still connected has received every message published.
func (r *runner) drain(ctx context.Context) {
	want := r.published()
	r.log.Info("draining", "published", want, "timeout", r.cfg.Drain)
	complete := func() bool {
		for _, s := range r.subs {
			if s.alive.Load() && s.unique.Load() < want {
				return false
			}
		}
		return true
	}
	r.waitUntil(ctx, r.state.clock()+r.cfg.Drain, complete, func() {
		r.log.Info("draining", "received", r.received(), "alive", r.alive())
	})
}

// published returns how many messages the server accepted so far.
func (r *runner) published() uint64 {
	var n uint64
	for _, p := range r.pubs {
		n += p.ok.Load()
	}
	return n
}

// received returns how many messages of the run subscribers received so
// far, duplicates included.
func (r *runner) received() uint64 {
	var n uint64
	for _, s := range r.subs {
		n += s.received.Load()
	}
	return n
}

// dialers returns the dialers of the run's connections.
func (r *runner) dialers() *dialers { return r.factory.dialers }

// waitReady connects cc and waits until it is ready.
func waitReady(ctx context.Context, cc *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(ctx, publisherReadyTimeout)
	defer cancel()
	cc.Connect()
	for {
		s := cc.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !cc.WaitForStateChange(ctx, s) {
			return fmt.Errorf("not ready (%v): %w", s, ctx.Err())
		}
	}
}
