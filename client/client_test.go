package client_test

import (
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/client"
)

func TestPublishSendsOptions(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	c := client.New(conn)

	res, err := c.Publish(t.Context(), "orders.created", []byte(`{"n":1}`),
		client.WithContentType("application/json"),
		client.WithEvent("created"),
		client.WithIdempotencyKey("k-1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GetId() != "e-1" || res.GetPublishTime().AsTime().Unix() != 1700000000 {
		t.Errorf("response = %v", res)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.published) != 1 {
		t.Fatalf("server got %d publishes, want 1", len(f.published))
	}
	got := f.published[0]
	if got.GetTopic() != "orders.created" || string(got.GetData()) != `{"n":1}` ||
		got.GetContentType() != "application/json" || got.GetEvent() != "created" ||
		got.GetIdempotencyKey() != "k-1" {
		t.Errorf("server got %v", got)
	}
}

func TestPublishWithoutOptionsLeavesFieldsEmpty(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	if _, err := client.New(conn).Publish(t.Context(), "t", nil); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.published[0]
	if got.GetContentType() != "" || got.GetEvent() != "" || got.GetIdempotencyKey() != "" || len(got.GetData()) != 0 {
		t.Errorf("server got %v", got)
	}
}

func TestPublishReturnsStatusErrors(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.pubErr = status.Error(codes.ResourceExhausted, "too large")
	_, err := client.New(conn).Publish(t.Context(), "t", []byte("x"))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("err = %v, want ResourceExhausted", err)
	}
}

func TestTLSCredentials(t *testing.T) {
	t.Parallel()
	creds, err := client.TLSCredentials("")
	if err != nil || creds.Info().SecurityProtocol != "tls" {
		t.Fatalf("TLSCredentials(\"\") = %v, %v", creds, err)
	}
	if _, err := client.TLSCredentials(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("a missing CA file was accepted")
	}
}
