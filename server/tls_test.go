package server

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/tlsfiles/tlstest"
)

// With Config.TLS the server speaks TLS on TCP and plain text on the
// in-process listener; a plain-text TCP client gets nowhere.
func TestTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	cert, err := tls.X509KeyPair(ca.Issue(t, "herald"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{
		TLS:               &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		HeartbeatInterval: time.Hour,
	}, memory.Options{})
	ctx := testContext(t)

	secure := e.client(t, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool()})))
	st, _ := subscribe(ctx, t, secure, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	res := publish(ctx, t, secure, "t", "over TLS")
	if m := recvMessage(t, st); m.GetId() != res.GetId() {
		t.Errorf("received %v, want %s", m, res.GetId())
	}

	inProcess := heraldv1.NewPubSubServiceClient(e.inProcessConn(t))
	publish(ctx, t, inProcess, "t", "in process")

	// A client that speaks plain text, or does not trust the CA, fails.
	_, err = e.client(t).Publish(ctx, &heraldv1.PublishRequest{Topic: "t"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("plain-text publish: %v, want UNAVAILABLE", err)
	}
	untrusted := e.client(t, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: x509.NewCertPool()})))
	_, err = untrusted.Publish(ctx, &heraldv1.PublishRequest{Topic: "t"})
	wantStatus(t, err, codes.Unavailable, "certificate")
}
