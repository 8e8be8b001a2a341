package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/client"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// withAuth records the authorization metadata of a Subscribe call on
// seen, then plays sc.
func withAuth(seen chan<- string, sc script) script {
	return func(req *heraldv1.SubscribeRequest, st stream) error {
		md, _ := metadata.FromIncomingContext(st.Context())
		seen <- strings.Join(md.Get("authorization"), ",")
		return sc(req, st)
	}
}

// expectAuth checks the authorization metadata of the next call.
func expectAuth(t *testing.T, seen <-chan string, want string) {
	t.Helper()
	select {
	case got := <-seen:
		if got != want {
			t.Fatalf("authorization %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no Subscribe call arrived")
	}
}

// numberedTokens returns a token function handing out tok-1, tok-2, …
func numberedTokens() client.TokenFunc {
	var n atomic.Int64
	return func(context.Context) (string, error) {
		return fmt.Sprintf("tok-%d", n.Add(1)), nil
	}
}

func TestExpiredStreamResumesWithAFreshToken(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	seen := make(chan string, 8)
	expired := status.Error(codes.Unauthenticated, "token expired")
	f.play(
		withAuth(seen, sendThen(expired, subscribed("e-1", time.Minute), message("e-2", "a"))),
		withAuth(seen, sendThen(nil, subscribed("e-3", time.Minute), message("e-3", "b"))),
	)
	sub := client.New(conn, client.WithTokenFunc(numberedTokens())).Subscribe(t.Context(), []string{"t"}, fastBackoff())
	defer sub.Close()

	expect(t, sub, client.KindConnected)
	expectMessage(t, sub, "e-2")
	if ev := expect(t, sub, client.KindReconnecting); status.Code(ev.Err) != codes.Unauthenticated {
		t.Fatalf("reconnecting after %v, want Unauthenticated", ev.Err)
	}
	expect(t, sub, client.KindConnected)
	expectMessage(t, sub, "e-3")
	expectAuth(t, seen, "Bearer tok-1")
	expectAuth(t, seen, "Bearer tok-2")
	f.nextReq(t)
	if req := f.nextReq(t); req.GetLastEventId() != "e-2" {
		t.Fatalf("resumed from %q, want e-2", req.GetLastEventId())
	}
}

func TestRefusedTokenEndsTheSubscription(t *testing.T) {
	t.Parallel()
	expired := status.Error(codes.Unauthenticated, "token expired")
	t.Run("after a stream expired", func(t *testing.T) {
		t.Parallel()
		f, conn := startFake(t)
		seen := make(chan string, 8)
		f.play(
			withAuth(seen, sendThen(expired, subscribed("e-1", time.Minute), message("e-2", "a"))),
			withAuth(seen, sendThen(expired)),
		)
		sub := client.New(conn, client.WithToken("static")).Subscribe(t.Context(), []string{"t"}, fastBackoff())
		defer sub.Close()
		expect(t, sub, client.KindConnected)
		expectMessage(t, sub, "e-2")
		expect(t, sub, client.KindReconnecting)
		if err := finalErr(t, sub); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("ended with %v, want Unauthenticated", err)
		}
		expectAuth(t, seen, "Bearer static")
		expectAuth(t, seen, "Bearer static")
	})
	t.Run("at once", func(t *testing.T) {
		t.Parallel()
		f, conn := startFake(t)
		f.play(sendThen(status.Error(codes.Unauthenticated, "authentication required")))
		sub := client.New(conn).Subscribe(t.Context(), []string{"t"}, fastBackoff())
		defer sub.Close()
		if err := finalErr(t, sub); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("ended with %v, want Unauthenticated", err)
		}
	})
}

func TestTokenFuncErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f, conn := startFake(t)
	seen := make(chan string, 8)
	f.play(withAuth(seen, sendThen(nil, subscribed("e-1", time.Minute))))
	var calls atomic.Int64
	fn := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return "", errors.New("identity service down")
		}
		return "good", nil
	}
	sub := client.New(conn, client.WithTokenFunc(fn)).Subscribe(t.Context(), []string{"t"}, fastBackoff())
	defer sub.Close()
	ev := expect(t, sub, client.KindReconnecting)
	if status.Code(ev.Err) != codes.Unavailable || !strings.Contains(ev.Err.Error(), "identity service down") {
		t.Fatalf("reconnecting after %v, want Unavailable naming the cause", ev.Err)
	}
	expect(t, sub, client.KindConnected)
	expectAuth(t, seen, "Bearer good")
}
