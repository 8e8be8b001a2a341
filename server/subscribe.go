package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/metrics"
)

// maxKeptBatch is the largest event buffer a stream keeps between batches;
// a larger one (after a big replay) is dropped for the garbage collector.
const maxKeptBatch = 1024

// Subscribe streams the messages of the requested topics: the subscribed
// frame, then history-gap notices and messages as the engine delivers
// them, with heartbeats on an idle stream. The handler's goroutine is the
// stream's only writer.
//
// Before anything is subscribed, the caller is authenticated (first, so
// that a client without a valid credential learns nothing but that), the
// request validated, and the caller must be allowed every pattern, within
// the topic and subscribe rate limits, and get a connection slot for its
// address, held until the stream ends. A stream opened with a credential
// that expires ends then with UNAUTHENTICATED (token_expired); the client
// resumes from its last id with a fresh token.
func (s *service) Subscribe(req *heraldv1.SubscribeRequest, stream grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
	ctx := stream.Context()
	m := s.srv.transport(ctx)
	id, err := s.srv.authenticate(ctx)
	if err != nil {
		return refuse(m, err)
	}
	sub, r := parseSubscribe(req)
	if r != nil {
		m.Refuse(r.reason)
		return r.err
	}
	release, err := s.srv.admitSubscribe(id, sub, s.srv.clientAddr(ctx))
	if err != nil {
		return refuse(m, err)
	}
	defer release()

	if s.srv.stopping.Err() != nil {
		return status.Error(codes.Unavailable, msgShuttingDown)
	}
	// The stream ends early for three reasons of the server's own:
	// shutdown, a send stalled past the write timeout and the expiry of
	// its credential.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ab := newAborter(stream.Context(), cancel)
	stopOnShutdown := context.AfterFunc(s.srv.stopping, func() { ab.abort(errShuttingDown) })
	defer stopOnShutdown()
	stopOnExpiry := id.AtExpiry(func() { ab.abort(errTokenExpired) })
	defer stopOnExpiry()

	cfg := &s.srv.cfg
	es, err := s.srv.eng.Subscribe(ctx, engine.SubscribeRequest{
		Patterns:   sub.patterns,
		After:      sub.after,
		QueueLen:   cfg.QueueLen,
		QueueBytes: cfg.QueueBytes,
	})
	switch {
	case errors.Is(err, engine.ErrFutureID):
		m.Refuse(reasonInvalid)
		return status.Errorf(codes.InvalidArgument,
			"last_event_id %s is ahead of the stream: no message with that id has been published",
			quoteID(req.GetLastEventId()))
	case err != nil && ctx.Err() != nil:
		return endedStatus(ctx, m)
	case err != nil:
		return errorStatus(ctx, s.srv.log, heraldv1.PubSubService_Subscribe_FullMethodName, err)
	}
	defer es.Close()
	m.Subscriptions.Inc()
	defer m.Subscriptions.Dec()

	w := &streamWriter{
		ctx:    ctx,
		stream: stream,
		sub:    es,
		m:      m,
		srv:    s.srv,
		shared: sharedEncoding(stream.Context()),
		clock:  newStreamClock(ctx, cfg.HeartbeatInterval, cfg.WriteTimeout, ab.abort),
	}
	defer w.clock.stop()
	return w.run(&heraldv1.Subscribed{
		Topics:            sub.names,
		CurrentId:         es.Position().String(),
		HeartbeatInterval: durationpb.New(cfg.HeartbeatInterval),
	})
}

// streamWriter is the send loop of one Subscribe stream. It is used by the
// handler's goroutine only.
type streamWriter struct {
	ctx    context.Context // the stream's context, cancelled with a cause
	stream grpc.ServerStreamingServer[heraldv1.SubscribeResponse]
	sub    engine.Subscription
	m      *metrics.Transport
	srv    *Server
	shared bool // frames may come from the messages' encoding cache
	clock  *streamClock
}

// run sends the headers and the subscribed frame, then relays events until
// the stream ends, and returns the status it ends with.
func (w *streamWriter) run(subscribed *heraldv1.Subscribed) error {
	// Headers first: the HTTP gateway waits for them before it writes
	// anything to its client.
	if err := w.stream.SendHeader(metadata.MD{}); err != nil {
		return w.sendError(err)
	}
	w.clock.sending(time.Now())
	if err := w.stream.Send(&heraldv1.SubscribeResponse{
		Frame: &heraldv1.SubscribeResponse_Subscribed{Subscribed: subscribed},
	}); err != nil {
		return w.sendError(err)
	}
	w.clock.sent(time.Now())

	buf := make([]engine.Event, 0, 64)
	for {
		events, err := w.sub.Next(w.clock.waitContext(), buf[:0])
		if err != nil {
			if err := w.waitError(err); err != nil {
				return err
			}
			continue
		}
		if err := w.deliver(events); err != nil {
			return err
		}
		clear(events)
		if cap(events) > maxKeptBatch {
			events = nil
		}
		buf = events[:0]
	}
}

// waitError handles an error from Subscription.Next. It returns nil when
// the clock woke the wait, after sending a heartbeat if one is due, and the
// stream's final status otherwise.
func (w *streamWriter) waitError(err error) error {
	if w.ctx.Err() != nil {
		return w.ended()
	}
	isCtx := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	if isCtx && w.clock.woken() {
		now := time.Now()
		if w.clock.due(now) {
			w.clock.sending(now)
			if err := w.stream.Send(&heraldv1.SubscribeResponse{
				Frame: &heraldv1.SubscribeResponse_Heartbeat{Heartbeat: &heraldv1.Heartbeat{Time: timestamppb.New(now)}},
			}); err != nil {
				return w.sendError(err)
			}
			now = time.Now()
			w.clock.sent(now)
		}
		w.clock.rearm(now)
		return nil
	}
	switch {
	case errors.Is(err, engine.ErrSlowConsumer):
		w.m.SlowConsumers.Inc()
		return status.Error(codes.ResourceExhausted, msgSlowConsumer)
	case errors.Is(err, engine.ErrClosed):
		return status.Error(codes.Unavailable, msgShuttingDown)
	}
	return errorStatus(w.ctx, w.srv.log, heraldv1.PubSubService_Subscribe_FullMethodName, err)
}

// deliver sends a batch of events, each message encoded once for all
// streams when this stream allows it.
func (w *streamWriter) deliver(events []engine.Event) error {
	for _, ev := range events {
		now := time.Now()
		w.clock.sending(now)
		var err error
		switch {
		case ev.Message != nil:
			err = w.sendMessage(ev.Message)
			if err == nil {
				w.m.ObserveDelivery(ev.Message.Time, now)
			}
		case ev.Gap != nil:
			err = w.stream.Send(gapFrame(ev.Gap))
		}
		if err != nil {
			return w.sendError(err)
		}
	}
	w.clock.sent(time.Now())
	return nil
}

func (w *streamWriter) sendMessage(m *engine.Message) error {
	if !w.shared {
		return w.stream.Send(messageFrame(m))
	}
	pm, err := preparedFrame(w.stream, m)
	if err != nil {
		return errorStatus(w.ctx, w.srv.log, heraldv1.PubSubService_Subscribe_FullMethodName, err)
	}
	return w.stream.SendMsg(pm)
}

// sendError is the final status of a stream whose send failed: the cause
// of its end when the stream's context ended (shutdown, a stalled send, a
// client that left), grpc's own status otherwise.
func (w *streamWriter) sendError(err error) error {
	if w.ctx.Err() != nil {
		return w.ended()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return errorStatus(w.ctx, w.srv.log, heraldv1.PubSubService_Subscribe_FullMethodName, err)
}

// ended is the final status of a stream whose context ended.
func (w *streamWriter) ended() error { return endedStatus(w.ctx, w.m) }

// endedStatus is the final status of a stream whose context ctx ended,
// counted in m: a stalled send as a slow consumer, an expired credential
// as a refusal.
func endedStatus(ctx context.Context, m *metrics.Transport) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errWriteStalled):
		m.SlowConsumers.Inc()
	case errors.Is(cause, errTokenExpired):
		m.Refuse(refusal.TokenExpired)
	}
	return streamEndStatus(ctx)
}

// gapFrame is the Subscribe frame of a history gap.
func gapFrame(g *engine.Gap) *heraldv1.SubscribeResponse {
	return &heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_HistoryGap{HistoryGap: &heraldv1.HistoryGap{
		Topics:           g.Topics,
		RequestedId:      g.Requested.String(),
		FirstAvailableId: g.FirstAvailable.String(),
		Reason:           gapReason(g.Reason),
	}}}
}

func gapReason(r engine.GapReason) heraldv1.HistoryGap_Reason {
	switch r {
	case engine.GapTruncated:
		return heraldv1.HistoryGap_REASON_TRUNCATED
	case engine.GapEpochChanged:
		return heraldv1.HistoryGap_REASON_EPOCH_CHANGED
	}
	return heraldv1.HistoryGap_REASON_UNSPECIFIED
}
