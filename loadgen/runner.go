package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of the phases around the measured one.
const (
	// fileLimitSlack is the file descriptors a run needs besides one per
	// subscriber.
	fileLimitSlack = 256
	// maxConnecting bounds the connections being opened at once.
	maxConnecting = 1000
	// publishLead is how far ahead of the first message the publishers'
	// schedule starts, so that every publisher is waiting when it is due.
	publishLead = 100 * time.Millisecond
	// closeTimeout bounds closing every connection at the end.
	closeTimeout = 30 * time.Second
	// closeWorkers close connections in parallel at the end.
	closeWorkers = 64
	// progressEvery is the interval of progress records.
	progressEvery = 5 * time.Second
	// pollEvery is how often the run checks a condition it waits for.
	pollEvery = 20 * time.Millisecond
)

// runState is what subscribers and publishers share with their run.
type runState struct {
	id            []byte // run id, RunIDLen characters
	idStr         string
	base          time.Time
	numPublishers int
	// windowStart is when the measured window starts on the run's clock:
	// messages sent from then on have their latency recorded.
	windowStart atomic.Int64
	latency     Histogram
	// publishLatency records how long each Publish call took.
	publishLatency Histogram
}

// clock returns the time elapsed since the run's start, on the monotonic
// clock: the time base of payload send times.
func (r *runState) clock() time.Duration { return time.Since(r.base) }

// runner carries one run through its phases.
type runner struct {
	cfg   Config
	log   *slog.Logger
	state *runState
	rep   *Report

	httpTarget, grpcTarget netip.AddrPort
	factory                *connFactory

	subs      []*subscriber // every connection attempted
	connected atomic.Int64
	closing   atomic.Bool // teardown began: connections ending is expected
	readers   sync.WaitGroup
	failures  reasons // why connections could not be opened
	losses    reasons // why open connections ended early

	pubs        []*publisher
	publishSpan time.Duration // from the first message due to the last sent
}

// Run performs one run described by cfg against a running server and
// returns its report. It refuses an invalid configuration or a
// non-loopback target with an error wrapping ErrInvalidConfig, before
// opening anything.
//
// When ctx ends (SIGINT in the command) the run stops what it is doing,
// closes its connections and returns the report of what it measured so far,
// with Interrupted set. Run also returns a report with an error when the
// run could not be completed (no subscriber could connect, publishing
// failed): the report then says how far it got.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &runner{cfg: cfg, log: cfg.Logger}
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	defer r.factory.close()
	err := r.run(ctx)
	if ctx.Err() != nil {
		r.rep.Interrupted = true
	}
	if err != nil {
		r.rep.Error = err.Error()
	}
	return r.rep, err
}

// prepare checks what a run needs before connecting anything: the targets,
// the file descriptor limit, the server process.
func (r *runner) prepare(ctx context.Context) error {
	var err error
	if r.httpTarget, err = resolveLoopback(ctx, r.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("%w: http addr: %v", ErrInvalidConfig, err)
	}
	if r.grpcTarget, err = resolveLoopback(ctx, r.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("%w: grpc addr: %v", ErrInvalidConfig, err)
	}
	if err := checkFileLimit(r.cfg.Subscribers + fileLimitSlack); err != nil {
		return err
	}
	if r.cfg.ServerPID != 0 {
		if _, err := ReadProc(r.cfg.ServerPID); err != nil {
			return fmt.Errorf("%w: --server-pid: %v", ErrInvalidConfig, err)
		}
	}
	target := r.grpcTarget
	if r.cfg.Transport != TransportGRPC {
		target = r.httpTarget
	}
	d, err := newDialers(target, r.cfg.sourceAddrs(), r.cfg.ConnectTimeout)
	if err != nil {
		return err
	}
	id := make([]byte, RunIDLen)
	for i, b := range randomBytes(RunIDLen) {
		id[i] = runIDChars[int(b)%len(runIDChars)]
	}
	r.state = &runState{id: id, idStr: string(id), base: time.Now(), numPublishers: r.cfg.publishers()}
	r.state.windowStart.Store(math.MaxInt64)
	r.factory = newConnFactory(r.cfg, r.httpTarget, r.grpcTarget, d)
	r.rep = newReport(r.cfg, r.state.idStr, target, len(d.sources))
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// run goes through the phases, filling the report as it goes.
func (r *runner) run(ctx context.Context) error {
	before := r.sampleServer()
	r.rep.setServerBefore(before)

	// Connections live until teardown, not until ctx ends: an interrupted
	// run still measures the server with its connections open.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	start := r.state.clock()
	r.connect(ctx, life)
	r.rep.Connections.ConnectSeconds = seconds(r.state.clock() - start)
	r.fillConnections()
	if r.connected.Load() == 0 {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("loadgen: no subscriber could connect: %s", r.failures.top())
	}
	r.rep.setServerConnected(r.sampleServer(), int(r.connected.Load()))

	var err error
	switch {
	case ctx.Err() != nil:
		// Interrupted while connecting: nothing more to measure.
	case r.cfg.Idle:
		r.hold(ctx)
	default:
		err = r.publishPhase(ctx)
	}
	r.rep.setServerAfter(r.sampleServer(), int(r.connected.Load()))
	if terr := r.teardown(); terr != nil {
		return errors.Join(err, terr)
	}
	r.fillConnections()
	if len(r.pubs) > 0 {
		r.fillDeliveries()
	}
	return err
}

// sampleServer reads the server process, if one was given; a failed read
// leaves the sample empty and is logged.
func (r *runner) sampleServer() *ProcSample {
	if r.cfg.ServerPID == 0 {
		return nil
	}
	s, err := ReadProc(r.cfg.ServerPID)
	if err != nil {
		r.log.Warn("reading the server process", "err", err)
		return nil
	}
	return &s
}

// cpuSample is what the run reads at both ends of its measured window.
type cpuSample struct {
	at     time.Duration // on the run's clock
	server *ProcSample   // nil without a server pid
	self   *ProcSample   // the load generator; nil without /proc
	system *SystemSample // the machine; nil without /proc
}

// sampleCPU reads the server, the load generator and the machine.
func (r *runner) sampleCPU() cpuSample {
	c := cpuSample{at: r.state.clock(), server: r.sampleServer()}
	if s, err := ReadProc(os.Getpid()); err == nil {
		c.self = &s
	}
	if s, err := ReadSystem(); err == nil {
		c.system = &s
	}
	return c
}

// connect opens the subscriber connections at the configured rate, each
// bounded by the connect timeout, and returns when every attempt is over or
// ctx ended. The connections live until life ends or teardown closes them.
func (r *runner) connect(ctx, life context.Context) {
	n := r.cfg.Subscribers
	r.log.Info("connecting", "transport", r.cfg.Transport, "subscribers", n, "rate", r.cfg.ConnectRate)
	r.subs = make([]*subscriber, 0, n)
	sem := make(chan struct{}, maxConnecting)
	var attempts sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := r.state.clock()
	nextLog := start + progressEvery
loop:
	for i := range n {
		due := start + time.Duration(float64(i)*float64(time.Second)/float64(r.cfg.ConnectRate))
		if wait := due - r.state.clock(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			break loop
		case sem <- struct{}{}:
		}
		if now := r.state.clock(); now >= nextLog {
			nextLog = now + progressEvery
			r.log.Info("connecting", "attempted", i, "connected", r.connected.Load(), "failed", r.failures.count())
		}
		s := &subscriber{run: r.state, conn: r.factory.newConn(life, i)}
		r.subs = append(r.subs, s)
		attempts.Go(func() {
			defer func() { <-sem }()
			r.open(ctx, s)
		})
	}
	attempts.Wait()
	r.log.Info("connected", "connected", r.connected.Load(), "failed", r.failures.count())
}

// open opens one subscriber and, once it is subscribed, starts reading it.
func (r *runner) open(ctx context.Context, s *subscriber) {
	octx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	err := s.conn.open(octx)
	cancel()
	if err != nil {
		s.conn.close()
		if ctx.Err() == nil {
			r.failures.add(err)
		}
		return
	}
	s.opened = true
	s.alive.Store(true)
	r.connected.Add(1)
	r.readers.Go(func() {
		err := s.conn.read(s)
		s.endErr = err
		s.alive.Store(false)
		if !r.closing.Load() {
			r.losses.add(err)
		}
	})
}

// hold keeps the connections open for the configured duration: the idle
// measurement.
func (r *runner) hold(ctx context.Context) {
	r.log.Info("holding idle connections", "connections", r.connected.Load(), "duration", r.cfg.Duration)
	c0 := r.sampleCPU()
	r.waitUntil(ctx, c0.at+r.cfg.Duration, func() bool { return r.alive() == 0 }, func() {
		r.log.Info("holding", "alive", r.alive(), "lost", r.losses.count())
	})
	r.rep.setCPU(c0, r.sampleCPU(), 0)
}

// alive returns how many subscribers are connected right now.
func (r *runner) alive() int {
	n := 0
	for _, s := range r.subs {
		if s.alive.Load() {
			n++
		}
	}
	return n
}

// waitUntil waits until the run's clock reaches deadline, ctx ends or done
// reports true, calling progress every progressEvery.
func (r *runner) waitUntil(ctx context.Context, deadline time.Duration, done func() bool, progress func()) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	nextLog := r.state.clock() + progressEvery
	for {
		now := r.state.clock()
		if now >= deadline || (done != nil && done()) {
			return
		}
		if progress != nil && now >= nextLog {
			nextLog = now + progressEvery
			progress()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// teardown closes every connection and waits, within closeTimeout, for
// their readers to end. It fails when some did not: their counters are
// then still moving and cannot be reported.
func (r *runner) teardown() error {
	r.closing.Store(true)
	work := make(chan *subscriber)
	var workers sync.WaitGroup
	for range closeWorkers {
		workers.Go(func() {
			for s := range work {
				s.conn.close()
			}
		})
	}
	for _, s := range r.subs {
		if s.opened {
			work <- s
		}
	}
	close(work)
	workers.Wait()
	done := make(chan struct{})
	go func() {
		r.readers.Wait()
		close(done)
	}()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		return fmt.Errorf("loadgen: %d connections did not close within %v", r.alive(), closeTimeout)
	}
}
