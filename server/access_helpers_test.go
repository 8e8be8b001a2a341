package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/metrics"
)

// newAuth returns an Authenticator for cfg, verifying tokens signed with
// authtest.Secret unless cfg names another credential setting.
func newAuth(t testing.TB, cfg auth.Config) *auth.Authenticator {
	t.Helper()
	if !cfg.Enabled() {
		cfg.HMACSecret = authtest.Secret
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// bearer returns ctx with the outgoing credential tok; "" adds none.
func bearer(ctx context.Context, tok string) context.Context {
	if tok == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, auth.MetadataKey, "Bearer "+tok)
}

// reasonOf returns the refusal reason an error's status carries, or "".
func reasonOf(err error) string { return refusal.FromStatus(status.Convert(err)) }

// retryDelay returns the delay of an error's RetryInfo detail, or 0.
func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			return info.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// refused returns how many refusals the gRPC transport counted for
// reason.
func (e *testEnv) refused(t testing.TB, reason string) float64 {
	t.Helper()
	return value(t, e.met.Refused.WithLabelValues(metrics.TransportGRPC, reason))
}

// subscribeErr starts a Subscribe stream that the server must refuse, and
// returns the error its first Recv gets.
func subscribeErr(ctx context.Context, t testing.TB, c heraldv1.PubSubServiceClient, topics ...string) error {
	t.Helper()
	st, err := c.Subscribe(ctx, &heraldv1.SubscribeRequest{Topics: topics})
	if err != nil {
		return err
	}
	f, err := st.Recv()
	if err == nil {
		t.Fatalf("Subscribe %v: got frame %v, want a refusal", topics, f)
	}
	return err
}

// writeFile writes data to a new file in the test's temporary directory.
func writeFile(t testing.TB, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// inProcessConn serves the server on an in-process listener too, as the
// node does for its HTTP gateway, and returns a client connection over it.
// The listener's Serve returns before the test's other cleanups run.
func (e *testEnv) inProcessConn(t testing.TB) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		e.srv.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve on the in-process listener returned %v", err)
		}
	})
	cc, err := grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
