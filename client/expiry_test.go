package client_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/client"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/server"
)

// shortLivedTokens returns a token function that mints a token allowing
// topic t and expiring one to two seconds later, on every call.
func shortLivedTokens(tb testing.TB) client.TokenFunc {
	return func(context.Context) (string, error) {
		return authtest.Mint(tb, authtest.Grant{
			Sub: "svc", Expires: authtest.Soon(), Subscribe: []string{"t"}, Publish: []string{"t"},
		}), nil
	}
}

// startAuthServer serves a Herald gRPC server that verifies tokens with
// no leeway on their expiry, until the end of the test, and returns a
// connection to it.
func startAuthServer(t *testing.T) *grpc.ClientConn {
	t.Helper()
	a, err := auth.New(auth.Config{HMACSecret: authtest.Secret, Leeway: -1})
	if err != nil {
		t.Fatal(err)
	}
	eng := memory.New(memory.Options{})
	srv := server.New(eng, server.Config{Auth: a, HeartbeatInterval: 200 * time.Millisecond})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	srv.SetServing()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		_ = eng.Close()
	})
	return conn
}

func TestSubscriptionOutlivesItsTokens(t *testing.T) {
	t.Parallel()
	conn := startAuthServer(t)
	c := client.New(conn, client.WithTokenFunc(shortLivedTokens(t)))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sub := c.Subscribe(ctx, []string{"t"}, fastBackoff())
	defer sub.Close()
	if ev := expect(t, sub, client.KindConnected); ev.Subscribed == nil {
		t.Fatal("no subscribed frame")
	}

	// Publish 0, 1, 2, … until the reader has seen enough.
	pubCtx, stopPublishing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopPublishing()
	wg.Go(func() {
		for i := 0; pubCtx.Err() == nil; i++ {
			if _, err := c.Publish(pubCtx, "t", []byte(strconv.Itoa(i))); err != nil {
				if pubCtx.Err() == nil {
					t.Errorf("publish %d: %v", i, err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	// Every message arrives once, in order, across the expiry of the
	// first token; 20 more after the subscription resumed.
	want, resumed, after := 0, false, 0
	for after < 20 {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("subscription ended after %d messages: %v", want, err)
		}
		switch ev.Kind {
		case client.KindMessage:
			if got := string(ev.Message.GetData()); got != strconv.Itoa(want) {
				t.Fatalf("message %q, want %d", got, want)
			}
			want++
			if resumed {
				after++
			}
		case client.KindReconnecting:
			if status.Code(ev.Err) != codes.Unauthenticated {
				t.Fatalf("reconnecting after %v, want the token's expiry", ev.Err)
			}
		case client.KindConnected:
			resumed = true
		}
	}
}
