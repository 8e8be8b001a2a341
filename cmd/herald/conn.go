package main

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// defaultServer is where publish and subscribe connect by default.
const defaultServer = "localhost:9090"

// transportCredentials is the one place that decides how the commands
// secure their connections to a server. Connections are plaintext for now;
// TLS will be chosen here.
func transportCredentials() credentials.TransportCredentials {
	return insecure.NewCredentials()
}

// dial returns a client connection to target (host:port). The connection
// retries a lost server quickly (at most every 5s), so that a subscription
// resumes soon after the server is back.
func dial(target string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(transportCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  250 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   5 * time.Second,
			},
			MinConnectTimeout: 10 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", target, err)
	}
	return conn, nil
}

// describe turns a gRPC status error into "Code: message", leaving other
// errors as they are.
func describe(err error) error {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		st := se.GRPCStatus()
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	return err
}
