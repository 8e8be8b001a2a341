//go:build !386

package app

import (
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/rawconn"
)

func TestHTTPConnectionsBoundUnacknowledgedData(t *testing.T) {
	for _, tt := range []struct{ heartbeat, want time.Duration }{
		{15 * time.Second, 30 * time.Second},
		{200 * time.Millisecond, minUserTimeout},
	} {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis := boundUnacked(inner, tt.heartbeat, slog.New(slog.DiscardHandler))
		c, accepted := connect(t, lis)
		raw, err := accepted.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := userTimeout(raw); err != nil || got != tt.want {
			t.Errorf("heartbeat %v: TCP_USER_TIMEOUT %v (%v), want %v", tt.heartbeat, got, err, tt.want)
		}
		_ = c.Close()
		_ = accepted.Close()
		_ = lis.Close()
	}
}

// TestPortsAcceptRawConnections checks that the gRPC port's listener
// (listenTCP) and the HTTP port's (listenHTTP, under its bound on
// unacknowledged data) hand out internal/rawconn connections.
func TestPortsAcceptRawConnections(t *testing.T) {
	grpcLis, err := listenTCP(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer grpcLis.Close()
	var f front
	if err := f.listenHTTP(t.Context(), "127.0.0.1:0", time.Second, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	defer f.httpLis.Close()
	for name, lis := range map[string]net.Listener{"gRPC": grpcLis, "HTTP": f.httpLis} {
		c, accepted := connect(t, lis)
		if _, ok := accepted.(*rawconn.Conn); !ok {
			t.Errorf("the %s port accepted a %T, want a *rawconn.Conn", name, accepted)
		}
		_ = accepted.Close()
		_ = c.Close()
	}
}

// connect dials lis and returns both ends: the client and what lis
// accepted.
func connect(t *testing.T, lis net.Listener) (client, accepted net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err = lis.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, accepted
}
