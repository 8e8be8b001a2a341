package ws

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/bridge"
)

// gateSource is a Source that refuses some topics the way a source with
// access control, or a failing one, would: "secret" with PermissionDenied,
// "down" with Unavailable, "boom" with an error that is not a status.
type gateSource struct{ bridge.Source }

func (s gateSource) Subscribe(ctx context.Context, req bridge.Request) (bridge.Subscription, error) {
	switch {
	case slices.Contains(req.Topics, "secret"):
		return nil, status.Error(codes.PermissionDenied, "topic secret is not for you")
	case slices.Contains(req.Topics, "down"):
		return nil, status.Error(codes.Unavailable, "upstream lost")
	case slices.Contains(req.Topics, "boom"):
		return nil, fmt.Errorf("database password is hunter2")
	}
	return s.Source.Subscribe(ctx, req)
}

func TestSourceRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.h.src = gateSource{e.h.src}

	_, resp, err := e.tryDial(t, "?topic=secret")
	wantRefused(t, resp, err, 403, 7, "not for you")
	_, resp, err = e.tryDial(t, "?topic=down")
	wantRefused(t, resp, err, 503, 14, "upstream lost")
	_, resp, err = e.tryDial(t, "?topic=boom")
	wantRefused(t, resp, err, 500, 13, "internal error")

	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["secret"],"id":"s"}`)
	if f := expect(t, c, "error"); f.Code != "permission_denied" || string(f.ID) != `"s"` || f.Message != "topic secret is not for you" {
		t.Errorf("got %s", f.raw)
	}
	send(t, c, `{"type":"subscribe","topics":["boom"],"id":"b"}`)
	if f := expect(t, c, "error"); f.Code != "internal" || f.Message != "internal error" {
		t.Errorf("got %s: internal error text must not reach clients", f.raw)
	}
	if !strings.Contains(e.logs.String(), "hunter2") {
		t.Error("the internal error was not logged")
	}
	// Refusals that are not the client's fault leave the connection as it
	// was, without strikes.
	for range maxStrikes {
		send(t, c, `{"type":"subscribe","topics":["secret"]}`)
		expect(t, c, "error")
	}
	id := e.publish(t, "a", "still subscribed").ID.String()
	if got := expect(t, c, "message").msgID(); got != id {
		t.Fatalf("got %s, want %s", got, id)
	}
	send(t, c, `{"type":"subscribe","topics":["down"]}`)
	_, err = readUntilClose(c)
	wantClose(t, err, websocket.CloseGoingAway, "resume from your last id")
}

// TestUpgraderRefusals: handshakes that gorilla refuses get the JSON error
// body too.
func TestUpgraderRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, tc := range []struct {
		header string
		status int
		code   int
	}{
		{"Sec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400, 3},
		{"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n", 400, 3},
	} {
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := "GET /v1/ws?topic=a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + tc.header + "\r\n"
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, resp, websocket.ErrBadHandshake, tc.status, tc.code, "websocket")
	}
	if got := e.refused(t, "bad_handshake"); got != 2 {
		t.Errorf("bad_handshake refusals %v, want 2", got)
	}
	if got := e.subscriptions(t); got != 0 {
		t.Errorf("subscriptions gauge %v: a refused handshake kept its subscription", got)
	}
}

func TestDisconnectValues(t *testing.T) {
	t.Parallel()
	if got := discShutdown.String(); got != "shutdown (1001 server is shutting down; reconnect and resume from your last id)" {
		t.Errorf("String() = %q", got)
	}
	if got := discKeepalive.String(); got != "keepalive_timeout" {
		t.Errorf("String() = %q", got)
	}
	long := discProtocol(strings.Repeat("é", 100))
	if len(long.reason) > maxReasonLen || !strings.HasPrefix(long.reason, "protocol error: é") {
		t.Errorf("reason %q: want it clipped to %d bytes", long.reason, maxReasonLen)
	}
	for _, d := range []disconnect{discShutdown, discSourceClosed, discSlowQueue, discSlowWrite,
		discMalformed, discRefused, discFlood, discInternal, discTokenExpired, discTooBig(DefaultReadLimit)} {
		if len(d.reason) > maxReasonLen {
			t.Errorf("%s: reason longer than a close frame takes", d.label)
		}
	}
}
