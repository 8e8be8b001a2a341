package loadgen

import (
	"bytes"
	"context"
	"sync/atomic"
)

// subConn is one subscriber connection of a transport. open and read are
// called once each, in that order, from one goroutine; close is called
// once, after open returned (whatever it returned), possibly while read
// runs: it makes read return.
type subConn interface {
	// open connects, subscribes to the run's topic and waits for the
	// subscription's confirmation.
	open(ctx context.Context) error
	// read hands every frame to s until the connection ends, and returns
	// why it ended.
	read(s *subscriber) error
	// close ends the connection; a read in progress returns.
	close()
}

// subscriber is the state of one subscriber connection: counters that the
// run reads while it goes on, and the sequence tracker its reading
// goroutine owns.
type subscriber struct {
	run  *runState
	conn subConn

	received   atomic.Uint64 // messages of this run, duplicates included
	unique     atomic.Uint64 // messages of this run, each counted once
	heartbeats atomic.Uint64
	alive      atomic.Bool // open succeeded and read has not returned

	// opened is set by the connecting goroutine when open succeeded,
	// before reading starts; read by the run after connecting is over.
	opened bool

	// Owned by the reading goroutine until it ends; read by the run after.
	tracker seqTracker
	foreign uint64 // messages that are not this run's payloads
	gaps    uint64 // history-gap notices (never expected: no resume)
	endErr  error  // why read returned
}

// message records the payload of one message frame.
func (s *subscriber) message(payload []byte) {
	now := s.run.clock()
	h, ok := parseHeader(payload)
	if !ok || !bytes.Equal(h.run, s.run.id) || h.publisher >= s.run.numPublishers {
		s.foreign++
		return
	}
	before := s.tracker.duplicates
	s.tracker.observe(h.publisher, h.seq)
	s.received.Add(1)
	if s.tracker.duplicates == before {
		s.unique.Add(1)
	}
	if int64(h.sent) >= s.run.windowStart.Load() {
		s.run.latency.Record(now - h.sent)
	}
}

// heartbeat records a heartbeat from the server.
func (s *subscriber) heartbeat() { s.heartbeats.Add(1) }

// gap records a history-gap notice.
func (s *subscriber) gap() { s.gaps++ }

// serverClosedError is the end of a stream that the server announced, with
// its reason (slow consumer, shutting down).
type serverClosedError struct{ reason string }

func (e *serverClosedError) Error() string { return "closed by the server: " + e.reason }
