package app_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/client"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// nextEvent returns the next event of sub that is not of the skipped kind.
func nextEvent(t *testing.T, sub *client.Subscription, skip client.EventKind) client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if ev.Kind != skip {
			return ev
		}
	}
}

func TestClientSubscriptionSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	first, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, first.GRPCAddr().String())
	c := client.New(conn)
	ctx := t.Context()
	sub := c.Subscribe(ctx, []string{"news"}, client.WithBackoff(10*time.Millisecond, 200*time.Millisecond))
	defer sub.Close()

	if ev := nextEvent(t, sub, 0); ev.Kind != client.KindConnected {
		t.Fatalf("first event %v", ev.Kind)
	}
	before, err := c.Publish(ctx, "news", []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub, 0); ev.Message.GetId() != before.GetId() {
		t.Fatalf("got %v, want message %s", ev, before.GetId())
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := first.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, sub, 0)
	if ev.Kind != client.KindReconnecting || status.Code(ev.Err) != codes.Unavailable {
		t.Fatalf("after shutdown: %v (%v), want reconnecting after Unavailable", ev.Kind, ev.Err)
	}

	// A new node (a new history) on the same addresses.
	cfg.GRPCAddr = first.GRPCAddr().String()
	cfg.HTTPAddr = first.HTTPAddr().String()
	startNode(t, cfg)

	if ev := nextEvent(t, sub, client.KindReconnecting); ev.Kind != client.KindConnected {
		t.Fatalf("after restart: %v (%v), want connected", ev.Kind, ev.Err)
	}
	after, err := c.Publish(ctx, "news", []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, sub, 0)
	if ev.Kind != client.KindGap || ev.Gap.GetReason() != heraldv1.HistoryGap_REASON_EPOCH_CHANGED ||
		ev.Gap.GetRequestedId() != before.GetId() {
		t.Fatalf("after restart: %v %v, want an epoch-changed gap after %s", ev.Kind, ev.Gap, before.GetId())
	}
	ev = nextEvent(t, sub, 0)
	if ev.Kind != client.KindMessage || ev.Message.GetId() != after.GetId() || string(ev.Message.GetData()) != "after" {
		t.Fatalf("after the gap: %v %v, want message %s", ev.Kind, ev.Message, after.GetId())
	}
	if got := sub.LastEventID(); got != after.GetId() {
		t.Fatalf("LastEventID = %q, want %q", got, after.GetId())
	}
}
