// Package limitstest holds what the transports' tests of the limits
// share.
package limitstest

import "github.com/heraldhq/herald/limits"

// ConnectionCase is one connection limit set to a single stream: the
// configuration that sets it and the refusal message a second stream
// gets from a client on 127.0.0.1.
type ConnectionCase struct {
	Name    string
	Config  limits.Config
	Refusal string
}

// ConnectionCases are the limit per client address and the node's total
// limit, each at one stream, as every transport enforces them.
func ConnectionCases() []ConnectionCase {
	return []ConnectionCase{
		{"per-address", limits.Config{MaxConnectionsPerIP: 1}, "too many connections from 127.0.0.1 (limit 1)"},
		{"total", limits.Config{MaxConnections: 1}, "the server is at its limit of 1 connections"},
	}
}
