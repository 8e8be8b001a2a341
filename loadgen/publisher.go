package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// Publisher limits: a publisher that fails this often stops, and the run
// reports why, instead of hammering a server that is gone.
const (
	maxConsecutivePublishErrors = 100
	maxPublishErrors            = 10_000
	publishTimeout              = 5 * time.Second
)

// publisher publishes one sequence of payloads on a fixed schedule.
type publisher struct {
	run    *runState
	id     int
	client heraldv1.PubSubServiceClient
	topic  string
	size   int

	attempted atomic.Uint64 // sequence numbers used (published or failed)
	ok        atomic.Uint64 // publishes the server accepted

	// Owned by the publishing goroutine until it ends; read by the run after.
	failed  []uint64 // sequence numbers whose publish failed, ascending
	lastErr error
	maxLag  time.Duration // furthest behind schedule a publish was sent
}

// schedule says when each message of one publisher is due: message i of
// publisher k of n is due at start + (i·n + k)/rate seconds, so the n
// publishers together send evenly at rate, and a publisher that falls
// behind catches up rather than drifting.
type schedule struct {
	start time.Duration // on the run's clock
	end   time.Duration // no message is due at or after end
	rate  float64       // messages per second, all publishers together
	n, k  int
}

// due returns when message i is due.
func (s schedule) due(i uint64) time.Duration {
	slot := float64(i)*float64(s.n) + float64(s.k)
	return s.start + time.Duration(slot*float64(time.Second)/s.rate)
}

// publish sends messages on sched until its end or until ctx ends. A
// publisher behind schedule sends late messages at once, back to back,
// but none after the end. It returns an error when publishing failed too
// often to go on.
func (p *publisher) publish(ctx context.Context, sched schedule) error {
	buf := make([]byte, p.size)
	req := &heraldv1.PublishRequest{Topic: p.topic, Data: buf}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	consecutive := 0
	for seq := uint64(0); ; seq++ {
		due := sched.due(seq)
		if due >= sched.end {
			return nil
		}
		if wait := due - p.run.clock(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		now := p.run.clock()
		if now >= sched.end {
			// Behind schedule at the end: what is late stays unsent.
			return nil
		}
		p.maxLag = max(p.maxLag, now-due)
		if err := EncodePayload(buf, Header{Run: p.run.idStr, Publisher: p.id, Seq: seq, Sent: now}); err != nil {
			return err
		}
		p.attempted.Store(seq + 1)
		err := p.send(ctx, req)
		p.run.publishLatency.Record(p.run.clock() - now)
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted: whether the server took it is unknown.
				p.failed = append(p.failed, seq)
				return nil
			}
			p.failed = append(p.failed, seq)
			p.lastErr = err
			consecutive++
			if consecutive >= maxConsecutivePublishErrors || len(p.failed) >= maxPublishErrors {
				return fmt.Errorf("publisher %d stopped after %d failed publishes: %w", p.id, len(p.failed), err)
			}
			continue
		}
		consecutive = 0
		p.ok.Add(1)
	}
}

// send publishes one message.
func (p *publisher) send(ctx context.Context, req *heraldv1.PublishRequest) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	_, err := p.client.Publish(ctx, req)
	return err
}

// errPublishersFailed is wrapped by the error of a run whose publishers
// gave up.
var errPublishersFailed = errors.New("loadgen: publishing failed")
