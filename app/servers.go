package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// servers supervises the accept loops of a node or a bridge: it runs each
// on a goroutine of its own, knows when they have all returned, and reports
// a loop that returns before shutdown began as a failure.
type servers struct {
	log      *slog.Logger
	stopping atomic.Bool    // shutdown has begun: loops returning is expected
	serving  sync.WaitGroup // one per running accept loop
	failed   chan error     // a loop stopped on its own; buffered, one slot per loop
}

// newServers returns a supervisor for up to loops accept loops.
func newServers(log *slog.Logger, loops int) servers {
	return servers{log: log, failed: make(chan error, loops)}
}

// serve runs one server's accept loop. A loop that returns before shutdown
// has failed: that is reported on failed.
func (s *servers) serve(name string, serve func() error) {
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		err := serve()
		if s.stopping.Load() {
			return
		}
		if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
			err = errors.New("stopped serving")
		}
		err = fmt.Errorf("app: %s server: %w", name, err)
		s.log.LogAttrs(context.Background(), slog.LevelError, "server failed",
			slog.String("server", name), slog.Any("err", err))
		s.failed <- err
	}()
}

// runUntil waits for the end of ctx or the failure of a server, then calls
// shutdown with a context that ends after timeout. It returns the failure,
// if any, joined with the shutdown's error.
func (s *servers) runUntil(ctx context.Context, timeout time.Duration, shutdown func(context.Context) error) error {
	var failure error
	select {
	case <-ctx.Done():
		s.log.LogAttrs(ctx, slog.LevelInfo, "shutdown requested", slog.Duration("timeout", timeout))
	case failure = <-s.failed:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return errors.Join(failure, shutdown(sctx))
}
