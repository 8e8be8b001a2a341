package sse

import (
	"errors"

	"github.com/heraldhq/herald/internal/refusal"
)

// endReason is why the server ends a stream: the code and message of the
// herald.error event the client gets, and what the log line says.
type endReason struct {
	code    string
	message string
}

// String returns the code.
func (r endReason) String() string { return r.code }

// Reasons for which the server ends a stream with a herald.error event.
var (
	// reasonSlowConsumer: the stream's queue overflowed.
	reasonSlowConsumer = endReason{
		code:    "slow_consumer",
		message: "the subscriber fell behind and its queue overflowed; reconnect and resume from your last id",
	}
	// reasonGoingAway: the server is shutting down, or the source of
	// messages went away (an engine closing, a bridge's upstream lost).
	reasonGoingAway = endReason{
		code:    "going_away",
		message: "server is shutting down; reconnect and resume from your last id",
	}
	// reasonTokenExpired: the credential the stream was opened with
	// expired.
	reasonTokenExpired = endReason{
		code:    refusal.TokenExpired,
		message: "token expired: reconnect with a fresh token and resume from your last id",
	}
)

// errGoingAway is the cause with which Shutdown ends every stream's
// context.
var errGoingAway = errors.New("sse: shutting down")

// errTokenExpired is the cause with which a stream's context ends when
// its credential expires.
var errTokenExpired = errors.New("sse: token expired")
