package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// statusWriter is the part of grpc's server transport stream that ends a
// stream with a status: it queues the trailers behind the data already
// queued, marks the stream done and cancels its transport context, which
// makes a send blocked on HTTP/2 flow control return at once. grpc calls it
// itself from other goroutines, for example when a deadline expires, so it
// is safe to call while the handler's goroutine is sending; the handler's
// own final status is then ignored.
type statusWriter interface {
	WriteStatus(*status.Status) error
}

// aborter ends a Subscribe stream early, for shutdown or a stalled send,
// from any goroutine.
type aborter struct {
	cancel context.CancelCauseFunc // the handler's context
	ts     statusWriter            // nil when the transport does not offer it
}

// newAborter returns an aborter for the stream of ctx; cancel cancels the
// handler's context.
func newAborter(ctx context.Context, cancel context.CancelCauseFunc) *aborter {
	ts, _ := grpc.ServerTransportStreamFromContext(ctx).(statusWriter)
	return &aborter{cancel: cancel, ts: ts}
}

// abort ends the stream with the status of cause (see causeStatus). The
// handler's context is cancelled first, so that whatever the handler is
// doing it finds the cause when it looks. Then the status goes to the
// transport: a client that stopped reading gets it, after the data already
// queued for it, when it reads again, and the handler's blocked send
// returns. Without the transport's status writer the handler ends the
// stream itself once it gets to run, which for a blocked send means when
// the client reads or the connection closes.
func (a *aborter) abort(cause error) {
	a.cancel(cause)
	if st := causeStatus(cause); st != nil && a.ts != nil {
		_ = a.ts.WriteStatus(st)
	}
}
