package bridge

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/subreq"
)

// msgShuttingDown is the status message of a subscription refused because
// the source is going away. It says what to do about it.
const msgShuttingDown = "server is shutting down; reconnect and resume from your last id"

// LocalConfig configures a source over an engine in the same process. The
// zero value means the engine's defaults.
type LocalConfig struct {
	// QueueLen bounds, in events, how far a subscriber may fall behind
	// before it is ended as a slow consumer. Zero means the engine's
	// default.
	QueueLen int
	// QueueBytes bounds, in payload bytes, how far a subscriber may fall
	// behind. Zero means the engine's default.
	QueueBytes int
}

// NewLocalSource returns a Source that subscribes directly to eng. It
// validates requests with the same rules and error texts as the gRPC
// server. Messages reach the transports as the engine's shared
// *engine.Message values, so their encoding cache makes each frame encoded
// once for all connections. The source does not own eng.
func NewLocalSource(eng engine.Engine, cfg LocalConfig) Source {
	return &localSource{eng: eng, cfg: cfg}
}

// localSource is the Source of NewLocalSource. It is immutable and safe
// for concurrent use.
type localSource struct {
	eng engine.Engine
	cfg LocalConfig
}

var _ Source = (*localSource)(nil)

// Subscribe validates req and subscribes to the engine.
func (s *localSource) Subscribe(ctx context.Context, req Request) (Subscription, error) {
	parsed, err := subreq.Parse(req.Topics, req.LastEventID)
	if err != nil {
		return nil, err
	}
	sub, err := s.eng.Subscribe(ctx, engine.SubscribeRequest{
		Patterns:   parsed.Patterns,
		After:      parsed.After,
		QueueLen:   max(s.cfg.QueueLen, 0),
		QueueBytes: max(s.cfg.QueueBytes, 0),
	})
	switch {
	case errors.Is(err, engine.ErrFutureID):
		return nil, subreq.FutureIDError(req.LastEventID)
	case errors.Is(err, engine.ErrClosed):
		return nil, status.Error(codes.Unavailable, msgShuttingDown)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, status.FromContextError(err).Err()
	case err != nil:
		return nil, err
	}
	return &localSubscription{
		Subscription: sub,
		subscribed:   Subscribed{Topics: parsed.Names, CurrentID: sub.Position().String()},
	}, nil
}

// localSubscription is an engine subscription with its confirmation. Next
// and Close are the engine's.
type localSubscription struct {
	engine.Subscription
	subscribed Subscribed
}

var _ Subscription = (*localSubscription)(nil)

// Subscribed returns the confirmation.
func (s *localSubscription) Subscribed() Subscribed { return s.subscribed }
