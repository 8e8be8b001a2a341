package client

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/tlsfiles"
)

// TokenFunc returns the credential (a token or an API key) to present on
// a call. It is called before every call and every subscribe attempt, so
// it can hand out a fresh token when the last one is about to expire. It
// must be safe for concurrent use.
type TokenFunc func(ctx context.Context) (string, error)

// WithToken presents token as "authorization: Bearer <token>" on every
// call. A Subscription whose token expires ends with UNAUTHENTICATED
// (after one attempt to resume with the same token); use WithTokenFunc to
// resume with a fresh one instead.
func WithToken(token string) Option {
	return WithTokenFunc(func(context.Context) (string, error) { return token, nil })
}

// WithTokenFunc presents the token fn returns as "authorization: Bearer
// <token>" on every call, asking fn again for every call and every
// subscribe attempt. When the server ends a stream because its token
// expired, the Subscription resumes from its last id with the next token
// fn returns, without losing a message.
func WithTokenFunc(fn TokenFunc) Option {
	return WithCallOptions(grpc.PerRPCCredentials(BearerToken(fn)))
}

// BearerToken returns gRPC per-RPC credentials that present the token fn
// returns as "authorization: Bearer <token>", for use with the generated
// stubs (grpc.WithPerRPCCredentials, grpc.PerRPCCredentials). They work
// over plain text connections too, such as to a local server; anywhere
// else, use TLS, or the token can be read on the way. An error of fn
// fails the call with UNAVAILABLE, which a Subscription retries.
func BearerToken(fn TokenFunc) credentials.PerRPCCredentials {
	return bearerToken(fn)
}

type bearerToken TokenFunc

// GetRequestMetadata returns the authorization metadata of one call.
func (fn bearerToken) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := fn(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "client: no token: %v", err)
	}
	if tok == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity reports false: the token may travel over plain
// text, as to a server on the same host.
func (bearerToken) RequireTransportSecurity() bool { return false }

// TLSCredentials returns transport credentials for a server that serves
// TLS (grpc.WithTransportCredentials), trusting the certificate
// authorities in the PEM file caFile, or the system's when caFile is
// empty.
func TLSCredentials(caFile string) (credentials.TransportCredentials, error) {
	cfg, err := tlsfiles.Client(caFile)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return credentials.NewTLS(cfg), nil
}
