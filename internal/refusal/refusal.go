// Package refusal is the error every transport turns into its own terms
// when Herald refuses a request for who is asking or how much: a gRPC
// status (Unauthenticated, PermissionDenied, ResourceExhausted), an HTTP
// status with a JSON body, a WebSocket close code, and a metrics reason.
package refusal

import (
	"errors"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Reasons of refusals: the snake_case label under which each is counted in
// herald_requests_refused_total, and the reason a stream ends with.
const (
	// Unauthenticated: no credential where one is required.
	Unauthenticated = "unauthenticated"
	// InvalidToken: a credential that does not verify (signature,
	// audience, issuer, not yet valid, malformed, unknown key).
	InvalidToken = "invalid_token"
	// TokenExpired: a token past its exp, at the start or during a stream.
	TokenExpired = "token_expired"
	// PermissionDenied: a verified holder asking for a topic outside its
	// claims.
	PermissionDenied = "permission_denied"
	// TooManyConnections: the node's or the client address's connection
	// limit is reached.
	TooManyConnections = "too_many_connections"
	// RateLimited: publishing or subscribing faster than allowed.
	RateLimited = "rate_limited"
	// TooManyTopics: a connection asking for more topics than allowed.
	TooManyTopics = "too_many_topics"
)

// Error is a refusal. It carries a gRPC status code, so that status.Convert
// and the HTTP error writer of the gateway understand it as it is.
type Error struct {
	// Code is the gRPC status code of the refusal.
	Code codes.Code
	// Reason is one of the reasons above.
	Reason string
	// Message is the human-readable explanation, in the client's terms.
	Message string
	// RetryAfter, when positive, is how long the client should wait
	// before trying again; it travels as a google.rpc.RetryInfo detail.
	RetryAfter time.Duration
}

// New returns a refusal.
func New(code codes.Code, reason, message string) *Error {
	return &Error{Code: code, Reason: reason, Message: message}
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Domain is the ErrorInfo domain of Herald's refusals.
const Domain = "herald"

// GRPCStatus returns the refusal as a gRPC status with a google.rpc.ErrorInfo
// detail carrying the reason in upper case (TOKEN_EXPIRED), so that clients
// on every transport can tell refusals apart without parsing messages, and a
// google.rpc.RetryInfo detail when RetryAfter is set.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Message)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: strings.ToUpper(e.Reason), Domain: Domain}}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	if d, err := st.WithDetails(details...); err == nil {
		st = d
	}
	return st
}

// FromStatus returns the reason of a refusal carried by a gRPC status (its
// ErrorInfo detail of domain Herald), or "" when it carries none: how a
// client learns why it was refused.
func FromStatus(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return strings.ToLower(info.GetReason())
		}
	}
	return ""
}

// Reason returns the reason of the refusal in err's chain, or "" when err
// is not a refusal.
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// RetryAfter returns the RetryAfter of the refusal in err's chain, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
