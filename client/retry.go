package client

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/refusal"
)

// retryable reports whether a stream that ended with err is worth
// resubscribing: the failures of a connection or of a server (which another
// attempt, or another node, may not have), as opposed to refusals of the
// request itself, which would only be refused again.
func retryable(err error) bool {
	if errors.Is(err, ErrDeadStream) || errors.Is(err, ErrStreamEnded) {
		return true
	}
	st, ok := status.FromError(err)
	if !ok {
		// Not a status: a failure below gRPC's error reporting.
		return true
	}
	if refusal.FromStatus(st) == refusal.TooManyTopics {
		// RESOURCE_EXHAUSTED, but about the request itself: asking for
		// as many topics again would be refused again.
		return false
	}
	switch st.Code() {
	case codes.Unavailable, // server shutting down or unreachable
		codes.ResourceExhausted, // slow consumer: resume from the last id
		codes.DeadlineExceeded,
		codes.Aborted,
		codes.Internal, // transport failures surface as Internal or Unknown
		codes.Unknown:
		return true
	}
	// InvalidArgument, PermissionDenied, Unauthenticated, Unimplemented,
	// Canceled (the connection was closed by its owner) and the rest.
	return false
}

// retryableAfter reports whether a stream that ended with err is worth
// resubscribing, given whether the server had confirmed it. Beyond
// retryable: UNAUTHENTICATED ending a stream that was in place means its
// token expired (or was revoked), so the next attempt asks for a fresh
// one. If that is refused too, it is refused before being confirmed, and
// the subscription ends.
func retryableAfter(err error, connected bool) bool {
	return retryable(err) || connected && status.Code(err) == codes.Unauthenticated
}
