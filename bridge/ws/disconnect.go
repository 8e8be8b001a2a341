package ws

import (
	"fmt"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/internal/refusal"
)

// CloseSlowConsumer is the close code of a connection that fell behind:
// its queue overflowed or a write timed out. The client should reconnect
// and resume from its last id.
const CloseSlowConsumer = 4000

// CloseTokenExpired is the close code of a connection whose credential
// expired; its reason is "token_expired". The client should reconnect
// with a fresh token and resume from its last id, or renew the credential
// with an "auth" frame before it expires.
const CloseTokenExpired = 4001

// maxReasonLen is the longest close reason that fits a control frame
// (125 bytes of payload, two of them the code).
const maxReasonLen = 123

// disconnect is why a connection ends. The same value gives the close
// frame (code and reason), the log line and the label of the refusal
// counter.
type disconnect struct {
	// code is the close code sent; zero sends no close frame because the
	// peer is gone.
	code int
	// reason is the close frame's text, at most maxReasonLen bytes.
	reason string
	// label names the disconnect in logs, in snake_case.
	label string
}

// String returns the label with the code and reason.
func (d disconnect) String() string {
	if d.code == 0 {
		return d.label
	}
	return fmt.Sprintf("%s (%d %s)", d.label, d.code, d.reason)
}

// The disconnects the server decides.
var (
	discShutdown = disconnect{websocket.CloseGoingAway,
		"server is shutting down; reconnect and resume from your last id", "shutdown"}
	discSourceClosed = disconnect{websocket.CloseGoingAway,
		"subscription source went away; reconnect and resume from your last id", "source_closed"}
	discSlowQueue = disconnect{CloseSlowConsumer,
		"slow consumer: queue overflowed; reconnect and resume from your last id", "slow_consumer"}
	discSlowWrite = disconnect{CloseSlowConsumer,
		"slow consumer: write timed out; reconnect and resume from your last id", "slow_consumer"}
	discMalformed = disconnect{websocket.ClosePolicyViolation,
		"too many malformed frames", "malformed_frames"}
	discRefused = disconnect{websocket.ClosePolicyViolation,
		"too many refused requests", "refused_frames"}
	discFlood = disconnect{websocket.ClosePolicyViolation,
		"too many frames awaiting an answer", "frame_flood"}
	discInternal = disconnect{websocket.CloseInternalServerErr, "internal error", "internal"}
	// discTokenExpired: the connection's credential expired.
	discTokenExpired = disconnect{CloseTokenExpired, refusal.TokenExpired, refusal.TokenExpired}
	// discKeepalive: nothing arrived within the read deadline. The peer is
	// presumed gone, so no close frame is sent.
	discKeepalive = disconnect{0, "", "keepalive_timeout"}
	// discGone: the connection broke (reset, EOF, failed write).
	discGone = disconnect{0, "", "connection_lost"}
)

// discTooBig closes a connection whose client sent a frame over limit.
func discTooBig(limit int64) disconnect {
	return disconnect{websocket.CloseMessageTooBig,
		fmt.Sprintf("frame larger than the read limit of %d bytes", limit), "too_large"}
}

// discProtocol closes a connection whose client broke the WebSocket
// protocol; msg is what the frame parser found.
func discProtocol(msg string) disconnect {
	return disconnect{websocket.CloseProtocolError, clip("protocol error: " + msg), "protocol_error"}
}

// discPeerClosed answers a client's close frame with its own code, as RFC
// 6455 asks. Code 1005 (no code given) is answered with an empty close
// frame.
func discPeerClosed(code int) disconnect {
	return disconnect{code, "", "client_closed"}
}

// clip shortens s to maxReasonLen bytes without splitting a character.
func clip(s string) string {
	if len(s) <= maxReasonLen {
		return s
	}
	s = s[:maxReasonLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
