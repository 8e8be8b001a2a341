package server

import (
	"compress/flate"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/topic"
)

// testCompressor is a compressor that only this test binary registers, so
// that a stream can compress without gzip being linked in.
type testCompressor struct{}

const testCompressorName = "herald-test-deflate"

func (testCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return flate.NewWriter(w, flate.BestSpeed)
}

func (testCompressor) Decompress(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }

func (testCompressor) Name() string { return testCompressorName }

func init() {
	encoding.RegisterCompressor(testCompressor{})
}

// Nothing the server links registers gzip, so a client asking for it is
// refused before any handler runs and never reaches the encoding cache.
func TestGzipNotRegistered(t *testing.T) {
	if encoding.GetCompressor("gzip") != nil {
		t.Fatal("a gzip compressor is registered: something imports google.golang.org/grpc/encoding/gzip")
	}
}

// retained returns the engine's shared *Message for id, by replaying it.
func retained(ctx context.Context, t *testing.T, eng engine.Engine, topicName, afterID, id string) *engine.Message {
	t.Helper()
	after, err := engine.ParseID(afterID)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := eng.Subscribe(ctx, engine.SubscribeRequest{Patterns: []topic.Pattern{topic.MustParsePattern(topicName)}, After: after})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	evs, err := sub.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Message != nil && ev.Message.ID.String() == id {
			return ev.Message
		}
	}
	t.Fatalf("message %s not retained", id)
	return nil
}

// A message's frame is encoded once and shared by plain streams; a
// compressing stream gets its own encoding and never pollutes the cache.
func TestEncodingCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	plain := e.client(t)
	compressing := e.client(t, grpc.WithDefaultCallOptions(grpc.UseCompressor(testCompressorName)))

	first := publish(ctx, t, plain, "other", "x").GetId()
	payload := strings.Repeat("compressible ", 1000)

	// Only a compressing stream receives the message first.
	cst, _ := subscribe(ctx, t, compressing, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	id := publish(ctx, t, plain, "t", payload).GetId()
	if m := recvMessage(t, cst); m.GetId() != id || string(m.GetData()) != payload {
		t.Fatalf("compressing stream got %s (%d bytes)", m.GetId(), len(m.GetData()))
	}
	msg := retained(ctx, t, e.eng, "t", first, id)
	if enc := msg.Encoding(grpcEncoding); enc != nil {
		t.Fatalf("a compressing stream cached %T", enc)
	}

	// Plain streams fill the cache and read the shared frame correctly.
	for range 2 {
		st, _ := subscribe(ctx, t, plain, &heraldv1.SubscribeRequest{Topics: []string{"t"}, LastEventId: first})
		if m := recvMessage(t, st); m.GetId() != id || string(m.GetData()) != payload {
			t.Fatalf("plain stream got %s (%d bytes)", m.GetId(), len(m.GetData()))
		}
		if _, ok := msg.Encoding(grpcEncoding).(*grpc.PreparedMsg); !ok {
			t.Fatalf("no shared frame cached after a plain stream sent the message")
		}
	}

	// With the cache filled, a compressing stream still encodes its own.
	cst2, _ := subscribe(ctx, t, compressing, &heraldv1.SubscribeRequest{Topics: []string{"t"}, LastEventId: first})
	if m := recvMessage(t, cst2); m.GetId() != id || string(m.GetData()) != payload {
		t.Fatalf("compressing stream after the cache got %s (%d bytes)", m.GetId(), len(m.GetData()))
	}
}
