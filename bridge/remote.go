package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/subreq"
)

// Defaults of RemoteConfig.
const (
	// DefaultRemoteQueueLen bounds, in events, the live events a remote
	// subscription buffers for its reader.
	DefaultRemoteQueueLen = 1024
	// DefaultRemoteQueueBytes bounds, in payload bytes, the live events a
	// remote subscription buffers for its reader.
	DefaultRemoteQueueBytes = 16 << 20
	// defaultUpstreamHeartbeat stands in for the upstream's heartbeat
	// interval when its subscribed frame gives none.
	defaultUpstreamHeartbeat = 15 * time.Second
	// upstreamTimeoutSlack is added to twice the upstream's heartbeat
	// interval for the default UpstreamTimeout: heartbeats are late by
	// network and scheduling delays, which matter with short intervals.
	upstreamTimeoutSlack = time.Second
)

// msgUpstreamUnavailable is the status message of a subscription refused
// because the upstream cannot be reached. The detail is logged.
const msgUpstreamUnavailable = "upstream is unavailable; reconnect and resume from your last id"

// RemoteConfig configures a source over a remote Herald. The zero value is
// ready to use: every zero field means its documented default.
type RemoteConfig struct {
	// QueueLen bounds, in events, the live events a subscription buffers
	// between its upstream stream and its reader; the one that overflows
	// it ends the subscription with engine.ErrSlowConsumer. Messages
	// replayed from history are not counted, as with the engine. Zero
	// means DefaultRemoteQueueLen (1024).
	QueueLen int
	// QueueBytes bounds the same events in payload bytes. A single
	// message larger than the bound is still accepted into an empty
	// queue. Zero means DefaultRemoteQueueBytes (16 MiB).
	QueueBytes int
	// UpstreamTimeout is how long an upstream stream may stay silent
	// (upstream heartbeats count) before it is taken for dead and the
	// subscription ends with engine.ErrClosed, so that the client
	// reconnects. Zero means twice the heartbeat interval the upstream
	// announces in its subscribed frame, plus upstreamTimeoutSlack for
	// network and scheduling delays; negative disables the check.
	UpstreamTimeout time.Duration
	// Logger receives upstream failures at debug level. Nil discards them.
	Logger *slog.Logger
}

// NewRemoteSource returns a Source over the Subscribe call of a remote
// Herald reached through conn (for `herald bridge`). Each subscription is
// one upstream stream, read by one goroutine into a bounded queue.
//
// Ids are the upstream's, so clients resume across bridges. Upstream
// heartbeats are not events. An upstream that ends a stream with
// RESOURCE_EXHAUSTED (its own slow-consumer close) ends the subscription
// with engine.ErrSlowConsumer; any other upstream failure, including a
// lost connection, with engine.ErrClosed. Messages are interned by id, so
// the subscriptions of one source share one *engine.Message per message
// (and its cached encodings), as on the engine's own node.
//
// conn is not owned by the source.
func NewRemoteSource(conn grpc.ClientConnInterface, cfg RemoteConfig) Source {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultRemoteQueueLen
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultRemoteQueueBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &remoteSource{
		client: heraldv1.NewPubSubServiceClient(conn),
		cfg:    cfg,
		msgs:   new(interner),
	}
}

// remoteSource is the Source of NewRemoteSource. It is safe for concurrent
// use.
type remoteSource struct {
	client heraldv1.PubSubServiceClient
	cfg    RemoteConfig
	msgs   *interner
}

var _ Source = (*remoteSource)(nil)

// Subscribe validates req, opens an upstream stream and waits for its
// subscribed frame.
func (s *remoteSource) Subscribe(ctx context.Context, req Request) (Subscription, error) {
	parsed, err := subreq.Parse(req.Topics, req.LastEventID)
	if err != nil {
		return nil, err
	}
	// The stream outlives ctx, which bounds the setup only; the context's
	// values (such as outgoing metadata) go with it.
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stopSetup := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	stream, err := s.client.Subscribe(sctx, &heraldv1.SubscribeRequest{
		Topics:      parsed.Names,
		LastEventId: req.LastEventID,
	})
	var first *heraldv1.SubscribeResponse
	if err == nil {
		first, err = stream.Recv()
	}
	if !stopSetup() {
		cancel(nil)
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		cancel(nil)
		return nil, s.setupError(ctx, err)
	}
	confirmed := first.GetSubscribed()
	current, idErr := engine.ParseID(confirmed.GetCurrentId())
	if confirmed == nil || idErr != nil {
		cancel(nil)
		s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "upstream protocol error: the first frame is not a valid subscribed frame",
			slog.String("frame", first.String()))
		return nil, status.Error(codes.Unavailable, msgUpstreamUnavailable)
	}

	sub := &remoteSubscription{
		src:    s,
		cancel: cancel,
		done:   make(chan struct{}),
		subscribed: Subscribed{
			Topics:    confirmed.GetTopics(),
			CurrentID: confirmed.GetCurrentId(),
		},
	}
	sub.init(s.cfg.QueueLen, s.cfg.QueueBytes)
	if !parsed.After.IsZero() {
		sub.replayEnd = current
	}
	timeout := s.cfg.UpstreamTimeout
	if timeout == 0 {
		hb := confirmed.GetHeartbeatInterval().AsDuration()
		if hb <= 0 {
			hb = defaultUpstreamHeartbeat
		}
		timeout = 2*hb + upstreamTimeoutSlack
	}
	if timeout > 0 {
		sub.watch = newWatchdog(timeout, func() { cancel(errUpstreamSilent) })
	}
	go sub.read(sctx, stream)
	return sub, nil
}

// setupError maps the failure of an upstream Subscribe call to the status
// the client sees: the upstream's refusals as they are (its messages are
// meant for clients), a lost or unreachable upstream as UNAVAILABLE.
func (s *remoteSource) setupError(ctx context.Context, err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.Unknown, codes.Internal:
		s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "upstream subscribe failed", slog.String("err", err.Error()))
		return status.Error(codes.Unavailable, msgUpstreamUnavailable)
	}
	return st.Err()
}

// frameEvent converts an upstream frame into an event. It reports false
// for frames that are not events (heartbeats, a repeated confirmation) and
// an error for a frame that breaks the protocol.
func (s *remoteSource) frameEvent(resp *heraldv1.SubscribeResponse) (engine.Event, bool, error) {
	switch f := resp.GetFrame().(type) {
	case *heraldv1.SubscribeResponse_Message:
		m, err := s.message(f.Message)
		return engine.Event{Message: m}, err == nil, err
	case *heraldv1.SubscribeResponse_HistoryGap:
		g, err := gapEvent(f.HistoryGap)
		return engine.Event{Gap: g}, err == nil, err
	}
	return engine.Event{}, false, nil
}

// message returns the interned message of an upstream message frame.
func (s *remoteSource) message(pm *heraldv1.Message) (*engine.Message, error) {
	id, err := engine.ParseID(pm.GetId())
	if err != nil || id.IsZero() {
		return nil, fmt.Errorf("%w: upstream message id %s", engine.ErrBadID, subreq.QuoteID(pm.GetId()))
	}
	return s.msgs.intern(id, func() *engine.Message {
		return &engine.Message{
			ID:          id,
			Topic:       pm.GetTopic(),
			Data:        pm.GetData(),
			ContentType: pm.GetContentType(),
			Event:       pm.GetEvent(),
			Time:        pm.GetPublishTime().AsTime(),
		}
	}), nil
}

// gapEvent converts an upstream history gap.
func gapEvent(hg *heraldv1.HistoryGap) (*engine.Gap, error) {
	requested, err1 := engine.ParseID(hg.GetRequestedId())
	first, err2 := engine.ParseID(hg.GetFirstAvailableId())
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("upstream history gap: %w", err)
	}
	g := &engine.Gap{Topics: hg.GetTopics(), Requested: requested, FirstAvailable: first}
	switch hg.GetReason() {
	case heraldv1.HistoryGap_REASON_EPOCH_CHANGED:
		g.Reason = engine.GapEpochChanged
	default:
		g.Reason = engine.GapTruncated
	}
	return g, nil
}

// streamEnd maps the error that ended an upstream stream whose context is
// ctx to the error the subscription ends with.
func streamEnd(ctx context.Context, err error) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, engine.ErrSubscriptionClosed):
		return engine.ErrSubscriptionClosed
	case errors.Is(cause, errUpstreamSilent):
		return fmt.Errorf("%w: %w", engine.ErrClosed, errUpstreamSilent)
	}
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return fmt.Errorf("%w: upstream stream: %w", engine.ErrClosed, err)
	case st.Code() == codes.ResourceExhausted:
		return fmt.Errorf("%w (upstream: %s)", engine.ErrSlowConsumer, st.Message())
	default:
		return fmt.Errorf("%w: upstream ended the stream: %s: %s", engine.ErrClosed, st.Code(), st.Message())
	}
}
