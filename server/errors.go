package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/engine"
)

// Causes with which the server ends a Subscribe stream's context. They are
// internal: clients see the statuses that streamEndStatus maps them to.
var (
	// errShuttingDown ends every stream when Shutdown begins.
	errShuttingDown = errors.New("server: shutting down")
	// errWriteStalled ends a stream whose send stayed blocked for longer
	// than the write timeout because the client stopped reading.
	errWriteStalled = errors.New("server: send blocked longer than the write timeout")
	// errTokenExpired ends a stream when the credential it was opened
	// with expires.
	errTokenExpired = errors.New("server: the stream's credential expired")
)

// Messages of the statuses clients see. They say what happened and what to
// do about it; internal error text never reaches a client.
const (
	msgShuttingDown = "server is shutting down; reconnect and resume from your last id"
	msgEngineClosed = "server is shutting down; reconnect and retry"
	msgSlowConsumer = "slow consumer: the subscriber fell behind and its queue overflowed; " +
		"resubscribe with last_event_id"
	msgWriteStalled = "slow consumer: the subscriber stopped reading for longer than the write timeout; " +
		"resubscribe with last_event_id"
	msgCanceled = "the call was canceled"
	msgDeadline = "the call's deadline expired"
	msgInternal = "internal error"
)

// Refusal reasons, the "reason" label of the requests_refused_total metric.
const (
	reasonInvalid  = "invalid_argument"
	reasonTooLarge = "too_large"
)

// errorStatus maps an error from the engine or a context to the status a
// client sees. This is the one place where that mapping happens: an engine
// that has closed means the server is going away (UNAVAILABLE), context
// errors keep their meaning (CANCELED, DEADLINE_EXCEEDED), a slow consumer is
// RESOURCE_EXHAUSTED, and anything else is INTERNAL with a generic message
// while the real error is logged.
func errorStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	switch {
	case errors.Is(err, engine.ErrClosed):
		return status.Error(codes.Unavailable, msgEngineClosed)
	case errors.Is(err, engine.ErrSlowConsumer):
		return status.Error(codes.ResourceExhausted, msgSlowConsumer)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, msgCanceled)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, msgDeadline)
	}
	log.LogAttrs(ctx, slog.LevelError, "internal error",
		slog.String("method", method), slog.String("error", err.Error()))
	return status.Error(codes.Internal, msgInternal)
}

// causeStatus is the status of a stream that the server ends early with
// cause (errShuttingDown, errWriteStalled or errTokenExpired), or nil for
// any other cause.
func causeStatus(cause error) *status.Status {
	switch {
	case errors.Is(cause, errShuttingDown):
		return status.New(codes.Unavailable, msgShuttingDown)
	case errors.Is(cause, errWriteStalled):
		return status.New(codes.ResourceExhausted, msgWriteStalled)
	case errors.Is(cause, errTokenExpired):
		return status.Convert(auth.ExpiredError())
	}
	return nil
}

// streamEndStatus is the status of a stream whose context ended: the
// server's own causes (shutdown, a stalled send, an expired credential) map to their statuses, a
// client that went away or a deadline that expired to CANCELED or
// DEADLINE_EXCEEDED.
func streamEndStatus(ctx context.Context) error {
	if st := causeStatus(context.Cause(ctx)); st != nil {
		return st.Err()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, msgDeadline)
	}
	return status.Error(codes.Canceled, msgCanceled)
}
