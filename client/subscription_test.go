package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"

	"github.com/heraldhq/herald/client"
	"github.com/heraldhq/herald/internal/refusal"
)

// next returns the next event, failing the test if none comes in time.
func next(t *testing.T, sub *client.Subscription) client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

// expect returns the next event and checks its kind.
func expect(t *testing.T, sub *client.Subscription, kind client.EventKind) client.Event {
	t.Helper()
	ev := next(t, sub)
	if ev.Kind != kind {
		t.Fatalf("event %v (err %v), want %v", ev.Kind, ev.Err, kind)
	}
	return ev
}

// expectMessage checks that the next event is the message with id.
func expectMessage(t *testing.T, sub *client.Subscription, id string) {
	t.Helper()
	if ev := expect(t, sub, client.KindMessage); ev.Message.GetId() != id {
		t.Fatalf("message %q, want %q", ev.Message.GetId(), id)
	}
}

// finalErr waits for the subscription to end and returns why.
func finalErr(t *testing.T, sub *client.Subscription) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			t.Fatal("subscription did not end")
		}
		if err != nil {
			return err
		}
		t.Logf("event before the end: %v %v", ev.Kind, ev.Err)
	}
}

func fastBackoff() client.SubscribeOption {
	return client.WithBackoff(time.Millisecond, 5*time.Millisecond)
}

func TestResumeAfterDropSendsLastMessageID(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.play(
		sendThen(status.Error(codes.Unavailable, "shutting down"),
			subscribed("e-5", time.Minute), message("e-6", "a"), message("e-7", "b")),
		sendThen(nil, subscribed("e-9", time.Minute), message("e-8", "c")),
	)
	sub := client.New(conn).Subscribe(t.Context(), []string{"t", "u.>"}, fastBackoff())
	defer sub.Close()

	req := f.nextReq(t)
	if req.GetLastEventId() != "" || len(req.GetTopics()) != 2 || req.GetTopics()[1] != "u.>" {
		t.Fatalf("first request %v", req)
	}
	if ev := expect(t, sub, client.KindConnected); ev.Subscribed.GetCurrentId() != "e-5" {
		t.Fatalf("connected %v", ev.Subscribed)
	}
	expectMessage(t, sub, "e-6")
	expectMessage(t, sub, "e-7")
	if got := sub.LastEventID(); got != "e-7" {
		t.Fatalf("LastEventID = %q, want e-7", got)
	}
	ev := expect(t, sub, client.KindReconnecting)
	if status.Code(ev.Err) != codes.Unavailable || ev.Attempt != 1 {
		t.Fatalf("reconnecting: err %v attempt %d", ev.Err, ev.Attempt)
	}
	if req := f.nextReq(t); req.GetLastEventId() != "e-7" {
		t.Fatalf("resumed with %q, want e-7", req.GetLastEventId())
	}
	expect(t, sub, client.KindConnected)
	expectMessage(t, sub, "e-8")
	if got := sub.LastEventID(); got != "e-8" {
		t.Fatalf("LastEventID = %q, want e-8", got)
	}
}

func TestResumeBeforeAnyMessageUsesCurrentID(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.play(sendThen(status.Error(codes.Unavailable, "bye"), subscribed("e-5", time.Minute)))
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())
	defer sub.Close()

	f.nextReq(t)
	expect(t, sub, client.KindConnected)
	if got := sub.LastEventID(); got != "e-5" {
		t.Fatalf("LastEventID = %q, want e-5", got)
	}
	expect(t, sub, client.KindReconnecting)
	if req := f.nextReq(t); req.GetLastEventId() != "e-5" {
		t.Fatalf("resumed with %q, want e-5", req.GetLastEventId())
	}
}

func TestResumeKeepsGivenIDUntilAMessageArrives(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	// The server is ahead (e-9) but the replay after e-2 had not started
	// when the stream dropped: resuming from e-9 would skip e-3..e-9.
	f.play(sendThen(status.Error(codes.Unavailable, "bye"), subscribed("e-9", time.Minute)))
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff(), client.WithLastEventID("e-2"))
	defer sub.Close()

	if req := f.nextReq(t); req.GetLastEventId() != "e-2" {
		t.Fatalf("first request resumes from %q, want e-2", req.GetLastEventId())
	}
	expect(t, sub, client.KindConnected)
	expect(t, sub, client.KindReconnecting)
	if req := f.nextReq(t); req.GetLastEventId() != "e-2" {
		t.Fatalf("resumed with %q, want e-2", req.GetLastEventId())
	}
}

func TestGapSurfaces(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	gap := &heraldv1.HistoryGap{
		Topics: []string{"t"}, RequestedId: "old-3", FirstAvailableId: "e-1",
		Reason: heraldv1.HistoryGap_REASON_EPOCH_CHANGED,
	}
	f.play(sendThen(nil, subscribed("e-2", time.Minute),
		&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_HistoryGap{HistoryGap: gap}},
		message("e-1", "x")))
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, client.WithLastEventID("old-3"))
	defer sub.Close()

	expect(t, sub, client.KindConnected)
	ev := expect(t, sub, client.KindGap)
	if ev.Gap.GetReason() != heraldv1.HistoryGap_REASON_EPOCH_CHANGED || ev.Gap.GetRequestedId() != "old-3" ||
		ev.Gap.GetFirstAvailableId() != "e-1" {
		t.Fatalf("gap %v", ev.Gap)
	}
	expectMessage(t, sub, "e-1")
}

func TestRetryableErrorsReconnect(t *testing.T) {
	t.Parallel()
	for _, code := range []codes.Code{
		codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded,
		codes.Internal, codes.Unknown, codes.Aborted,
	} {
		t.Run(code.String(), func(t *testing.T) {
			t.Parallel()
			f, conn := startFake(t)
			f.play(sendThen(status.Error(code, "boom"), subscribed("e-1", time.Minute)))
			sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())
			defer sub.Close()

			f.nextReq(t)
			expect(t, sub, client.KindConnected)
			if ev := expect(t, sub, client.KindReconnecting); status.Code(ev.Err) != code {
				t.Fatalf("reconnecting because of %v, want %v", ev.Err, code)
			}
			f.nextReq(t) // it came back
		})
	}
}

func TestStreamEndedWithoutErrorReconnects(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.play(func(_ *heraldv1.SubscribeRequest, st stream) error {
		return st.Send(subscribed("e-1", time.Minute))
	})
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())
	defer sub.Close()

	expect(t, sub, client.KindConnected)
	if ev := expect(t, sub, client.KindReconnecting); !errors.Is(ev.Err, client.ErrStreamEnded) {
		t.Fatalf("reconnecting because of %v, want ErrStreamEnded", ev.Err)
	}
}

func TestFinalErrorsStop(t *testing.T) {
	t.Parallel()
	final := map[string]error{
		"too_many_topics": refusal.New(codes.ResourceExhausted, refusal.TooManyTopics, "too many topics"),
	}
	for _, code := range []codes.Code{
		codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented,
	} {
		final[code.String()] = status.Error(code, "no")
	}
	for name, refused := range final {
		code := status.Code(refused)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, conn := startFake(t)
			f.play(sendThen(refused))
			sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())

			err := finalErr(t, sub)
			if status.Code(err) != code {
				t.Fatalf("ended with %v, want %v", err, code)
			}
			// The subscription stays ended: same error, and no new attempt.
			if _, again := sub.Next(t.Context()); status.Code(again) != code {
				t.Fatalf("second Next: %v", again)
			}
			if err := sub.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if n := len(f.reqs); n != 1 {
				t.Fatalf("%d Subscribe calls, want 1", n)
			}
		})
	}
}

func TestBackoffBoundedAndResetAfterConnect(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	const initial, maxDelay = 2 * time.Millisecond, 16 * time.Millisecond
	refuse := sendThen(status.Error(codes.Unavailable, "down"))
	for range 7 {
		f.play(refuse)
	}
	f.play(sendThen(status.Error(codes.Unavailable, "dropped"), subscribed("e-1", time.Minute)), refuse)
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, client.WithBackoff(initial, maxDelay))
	defer sub.Close()

	for attempt := 1; attempt <= 7; attempt++ {
		ev := expect(t, sub, client.KindReconnecting)
		if ev.Attempt != attempt {
			t.Fatalf("attempt %d, want %d", ev.Attempt, attempt)
		}
		ceiling := min(maxDelay, initial<<(attempt-1))
		if ev.Delay < 0 || ev.Delay > ceiling {
			t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, ev.Delay, ceiling)
		}
	}
	expect(t, sub, client.KindConnected)
	if ev := expect(t, sub, client.KindReconnecting); ev.Attempt != 1 || ev.Delay > initial {
		t.Fatalf("after a connect: attempt %d delay %v, want attempt 1 within %v", ev.Attempt, ev.Delay, initial)
	}
	if ev := expect(t, sub, client.KindReconnecting); ev.Attempt != 2 {
		t.Fatalf("attempt %d, want 2", ev.Attempt)
	}
}

func TestSilentStreamIsDeadAfterTwoHeartbeatIntervals(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	const interval = 50 * time.Millisecond
	f.play(sendThen(nil, subscribed("e-1", interval), message("e-2", "x")))
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())
	defer sub.Close()

	expect(t, sub, client.KindConnected)
	expectMessage(t, sub, "e-2")
	ev := expect(t, sub, client.KindReconnecting)
	if !errors.Is(ev.Err, client.ErrDeadStream) {
		t.Fatalf("reconnecting because of %v, want ErrDeadStream", ev.Err)
	}
	f.nextReq(t)
	if req := f.nextReq(t); req.GetLastEventId() != "e-2" {
		t.Fatalf("resumed with %q, want e-2", req.GetLastEventId())
	}
}

func TestHeartbeatsKeepStreamAlive(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	// Heartbeats every 20ms for well over twice the 500ms interval, then a
	// message: the stream must still be the first one.
	const interval = 500 * time.Millisecond
	f.play(func(_ *heraldv1.SubscribeRequest, st stream) error {
		if err := st.Send(subscribed("e-1", interval)); err != nil {
			return err
		}
		for deadline := time.Now().Add(3 * interval); time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			if err := st.Send(heartbeat()); err != nil {
				return err
			}
		}
		if err := st.Send(message("e-2", "still here")); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	})
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())
	defer sub.Close()

	expect(t, sub, client.KindConnected)
	expectMessage(t, sub, "e-2")
}

func TestNoSubscribedFrameTimesOut(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	// No script: the first call hangs without a frame.
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff(),
		client.WithSubscribeTimeout(50*time.Millisecond))
	defer sub.Close()

	f.nextReq(t)
	if ev := expect(t, sub, client.KindReconnecting); !errors.Is(ev.Err, client.ErrDeadStream) {
		t.Fatalf("reconnecting because of %v, want ErrDeadStream", ev.Err)
	}
	f.nextReq(t)
}

func TestCloseUnblocksNext(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.play(sendThen(nil, subscribed("e-1", time.Minute)))
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"})
	expect(t, sub, client.KindConnected)

	errc := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		errc <- err
	}()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, client.ErrClosed) {
			t.Fatalf("Next after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseDuringBackoff(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.play(sendThen(status.Error(codes.Unavailable, "down")))
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, client.WithBackoff(time.Hour, time.Hour))
	ev := expect(t, sub, client.KindReconnecting)
	if ev.Delay > time.Hour {
		t.Fatalf("delay %v", ev.Delay)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sub.Close()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked during the backoff wait")
	}
	if _, err := sub.Next(t.Context()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Next: %v, want ErrClosed", err)
	}
}

func TestContextCancelEndsSubscription(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	f.play(sendThen(nil, subscribed("e-1", time.Minute)))
	ctx, cancel := context.WithCancel(t.Context())
	sub := client.New(conn).Subscribe(ctx, []string{"t"})
	defer sub.Close()
	expect(t, sub, client.KindConnected)

	cancel()
	if err := finalErr(t, sub); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended with %v, want context.Canceled", err)
	}
}

func TestNextContextDoesNotEndSubscription(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	release := make(chan struct{})
	f.play(func(_ *heraldv1.SubscribeRequest, st stream) error {
		if err := st.Send(subscribed("e-1", time.Minute)); err != nil {
			return err
		}
		<-release
		if err := st.Send(message("e-2", "later")); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	})
	sub := client.New(conn).Subscribe(t.Context(), []string{"t"})
	defer sub.Close()
	expect(t, sub, client.KindConnected)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with an expiring context: %v", err)
	}
	close(release)
	expectMessage(t, sub, "e-2")
}
