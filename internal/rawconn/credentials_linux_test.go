//go:build linux && !386

package rawconn

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// recordingCredentials records the connection of its client handshakes.
type recordingCredentials struct {
	credentials.TransportCredentials
	got *net.Conn
}

func (r recordingCredentials) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	*r.got = conn
	return r.TransportCredentials.ClientHandshake(ctx, authority, conn)
}

func (r recordingCredentials) Clone() credentials.TransportCredentials {
	return recordingCredentials{r.TransportCredentials.Clone(), r.got}
}

func TestClientCredentialsWrapTheConnection(t *testing.T) {
	_, c := pair(t)
	var got net.Conn
	creds := ClientCredentials(recordingCredentials{insecure.NewCredentials(), &got}).Clone()
	conn, _, err := creds.ClientHandshake(t.Context(), "herald", c)
	if err != nil {
		t.Fatal(err)
	}
	rc, ok := got.(*Conn)
	if !ok || rc.TCPConn != c {
		t.Fatalf("the handshake got a %T, want a *Conn over the dialled connection", got)
	}
	if conn != got {
		t.Fatalf("insecure credentials returned %T, not the connection they were given", conn)
	}
	if creds.Info().SecurityProtocol != "insecure" {
		t.Fatalf("Info = %+v, want the wrapped credentials'", creds.Info())
	}
}
