package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// tokenScriptJS makes a token function that returns its script's entries
// in order, the last one again once the script runs out: a string as it
// is, a number n as an unsigned JWT that expires n seconds after the call,
// and null as a rejection. Its calls property lists what it returned.
// Argument: the script (JSON).
const tokenScriptJS = `((script) => {
  const b64 = (s) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const calls = [];
  const f = async () => {
    const entry = script[Math.min(calls.length, script.length - 1)];
    const t = typeof entry === 'number'
      ? b64('{"alg":"HS256"}') + '.' + b64(JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + entry, jti: String(calls.length + 1) })) + '.c2ln'
      : entry;
    calls.push(t);
    if (t === null) throw new Error('no session');
    return t;
  };
  f.calls = calls;
  return f;
})(%s)`

// longBackoff is a backoff whose every delay is a minute once
// fixedBackoffJS ran: a client that reconnects within a test did not wait
// for it.
var longBackoff = map[string]any{"initial": 60000, "max": 60000}

// fixedBackoffJS makes the jitter of every backoff delay its longest.
const fixedBackoffJS = `Math.random = () => 0.999`

// tokenScript installs a scripted token function (see tokenScriptJS) for
// the client name and returns the JavaScript options that give it.
func (tb *tab) tokenScript(name string, script ...any) string {
	tb.t.Helper()
	n, _ := json.Marshal(name)
	sc, err := json.Marshal(script)
	if err != nil {
		tb.t.Fatal(err)
	}
	eval[any](tb, fmt.Sprintf(`((window.tokens ??= {})[%s] = %s, null)`, n, fmt.Sprintf(tokenScriptJS, sc)))
	return fmt.Sprintf(`{token: window.tokens[%s]}`, n)
}

// tokenCalls returns what the token function of the client name returned
// so far ("" for a rejection).
func (tb *tab) tokenCalls(name string) []string {
	tb.t.Helper()
	n, _ := json.Marshal(name)
	return eval[[]string](tb, fmt.Sprintf(`window.tokens[%s].calls.map((t) => t ?? '')`, n))
}

// tokenOf returns the access_token of a request.
func tokenOf(r *http.Request) string { return r.URL.Query().Get("access_token") }

// requestsWith returns the recorded requests that presented token.
func (s *scripted) requestsWith(token string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.reqs {
		if tokenOf(r) == token {
			out = append(out, r)
		}
	}
	return out
}

// jwtExpiry returns the exp claim of an unverified JWT.
func jwtExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is no JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Exp == 0 {
		t.Fatalf("token %q: no exp claim (%v)", token, err)
	}
	return time.Unix(c.Exp, 0)
}

// The refusal of an invalid token, as a node answers it.
const invalidTokenBody = `{"code":16,"message":"invalid credential: token signature is invalid",` +
	`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"invalid_token","domain":"herald"}]}`

// Over SSE the token travels as access_token. A stream that ends for the
// token's expiry is replaced at once with a fresh token, resuming after
// the last message; a token function that gives the expired token again
// waits for the backoff delay. A refused token is retried with the next
// token from the function, but is final when fixed; a token function that
// fails is retried.
func TestClientTokenSSE(t *testing.T) {
	s := newScripted(t)
	subscribed := "event: herald.subscribed\n" + `data: {"topics":["t"],"current_id":"E-0","heartbeat_interval":"15s"}` + "\n\n"
	s.sse = func(n int, w http.ResponseWriter, r *http.Request) {
		switch tok := tokenOf(r); tok {
		case "tok-1", "tok-2": // a message, then the token expires
			id := "E-" + tok[len(tok)-1:]
			send := sseStream(w)
			send(subscribed)
			send("id: " + id + "\ndata: " + envelope("t", id, "x", "") + "\n\n")
			send("event: herald.error\n" + `data: {"code":"token_expired","message":"token expired: reconnect with a fresh token"}` + "\n\n")
		case "good":
			send := sseStream(w)
			send(subscribed)
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
		default: // the stream and the client's probe alike
			writeJSON(w, http.StatusUnauthorized, invalidTokenBody)
		}
	}
	tb := newTab(t, s.srv.URL+"/blank")
	eval[any](tb, fixedBackoffJS)
	quick := map[string]any{"initial": 50, "max": 50}

	t.Run("expiry", func(t *testing.T) {
		tb.startClientWith("expiry", map[string]any{"topics": []string{"t"}, "backoff": longBackoff},
			tb.tokenScript("expiry", "tok-1", "tok-2", "tok-2"))
		tb.waitEvent("expiry", "close:token_error", 1)
		eval[any](tb, client("expiry")+".h.close()")
		ev := tb.events("expiry")
		want := []string{
			"state:connecting", "state:open", "open", "message:E-1",
			"close:token_expired", "state:reconnecting", "state:open", "open", "message:E-2",
			"close:token_expired", "state:reconnecting", "error:token_error", "close:token_error", "state:closed",
		}
		if got := sequence(ev); !slices.Equal(got, want) {
			t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
		}
		if c := only(ev, "close")[0]; !c.Reconnect || c.Message != "token expired: reconnect with a fresh token" {
			t.Errorf("expiry close %+v", c)
		}
		if got := tb.tokenCalls("expiry"); !slices.Equal(got, []string{"tok-1", "tok-2", "tok-2"}) {
			t.Errorf("token function calls %q", got)
		}
		// The expired token is not presented again.
		for tok, lastID := range map[string]string{"tok-1": "", "tok-2": "E-1"} {
			reqs := s.requestsWith(tok)
			if len(reqs) != 1 {
				t.Fatalf("%d requests with %s, want 1", len(reqs), tok)
			}
			checkQuery(t, 0, reqs[0], []string{"t"}, lastID)
		}
	})

	t.Run("refused token, then a good one", func(t *testing.T) {
		tb.startClientWith("retry", map[string]any{"topics": []string{"t"}, "backoff": quick},
			tb.tokenScript("retry", "bad", "good"))
		tb.waitEvent("retry", "open", 1)
		eval[any](tb, client("retry")+".h.close()")
		ev := tb.events("retry")
		want := []string{
			"state:connecting", "error:unauthenticated", "close:unauthenticated", "state:reconnecting",
			"state:open", "open", "close:client", "state:closed",
		}
		if got := sequence(ev); !slices.Equal(got, want) {
			t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
		}
		if e := only(ev, "error")[0]; e.Fatal || e.Status != 401 || e.Reason != "invalid_token" ||
			e.Message != "invalid credential: token signature is invalid" {
			t.Errorf("refusal %+v", e)
		}
		if n := len(s.requestsWith("bad")); n != 2 {
			t.Errorf("%d requests with the refused token, want 2 (the stream and its probe)", n)
		}
	})

	t.Run("fixed token refused", func(t *testing.T) {
		tb.startClient("fixed", map[string]any{"topics": []string{"t"}, "backoff": quick, "token": "bad-fixed"})
		tb.waitEvent("fixed", "state:closed", 1)
		ev := tb.events("fixed")
		want := []string{"state:connecting", "error:refused", "close:refused", "state:closed"}
		if got := sequence(ev); !slices.Equal(got, want) {
			t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
		}
		if e := only(ev, "error")[0]; !e.Fatal || e.Status != 401 || e.Reason != "invalid_token" {
			t.Errorf("refusal %+v", e)
		}
		if n := len(s.requestsWith("bad-fixed")); n != 2 {
			t.Errorf("%d requests with the fixed token, want 2 (the stream and its probe)", n)
		}
	})

	t.Run("token function fails", func(t *testing.T) {
		tb.startClientWith("fails", map[string]any{"topics": []string{"t"}, "backoff": quick},
			tb.tokenScript("fails", nil, "good"))
		tb.waitEvent("fails", "open", 1)
		eval[any](tb, client("fails")+".h.close()")
		ev := tb.events("fails")
		want := []string{
			"state:connecting", "error:token_error", "close:token_error", "state:reconnecting",
			"state:open", "open", "close:client", "state:closed",
		}
		if got := sequence(ev); !slices.Equal(got, want) {
			t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
		}
		if e := only(ev, "error")[0]; e.Fatal || !strings.Contains(e.Message, "no session") {
			t.Errorf("token function failure %+v", e)
		}
	})
}

// Over WebSocket the token travels as access_token too. Before it expires
// the client renews it in place with an auth frame; a close for the
// token's expiry (4001) is replaced at once with a fresh token, resuming
// after the last message; a renewal the server refuses is reported and
// the connection goes on.
func TestClientTokenWebSocket(t *testing.T) {
	s := newScripted(t)
	type authFrame struct {
		Type, Token, ID string
	}
	auths := make(chan authFrame, 2)
	readAuth := func(c *websocket.Conn) (authFrame, bool) {
		var f authFrame
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Errorf("reading the auth frame: %v", err)
			return f, false
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Type != "auth" || f.Token == "" || f.ID == "" {
			t.Errorf("client frame %s, want an auth frame with a token and an id", b)
			return f, false
		}
		auths <- f
		return f, true
	}
	s.ws = func(n int, c *websocket.Conn, r *http.Request) {
		writeFrame(c, `{"type":"subscribed","topics":["t"],"current_id":"E-0","heartbeat_interval":"15s"}`)
		switch n {
		case 0: // renewed, then closed for an expiry all the same
			writeFrame(c, `{"type":"message",`+envelope("t", "E-1", "one", "")[1:])
			f, ok := readAuth(c)
			if !ok {
				return
			}
			exp := jwtExpiry(t, f.Token).UTC().Format(time.RFC3339)
			writeFrame(c, fmt.Sprintf(`{"type":"authenticated","expires_at":%q,"id":%q}`, exp, f.ID))
			writeFrame(c, `{"type":"message",`+envelope("t", "E-2", "two", "")[1:])
			closeWith(c, 4001, "token_expired")
		default: // the renewal is refused
			f, ok := readAuth(c)
			if !ok {
				return
			}
			writeFrame(c, fmt.Sprintf(`{"type":"error","code":"unauthenticated","reason":"invalid_token",`+
				`"message":"invalid credential: token signature is invalid","id":%q}`, f.ID))
		}
		readUntilGone(c)
	}
	tb := newTab(t, s.srv.URL+"/blank")
	eval[any](tb, fixedBackoffJS)
	// Tokens for 2 s and for an hour, alternately: each connection renews
	// its first token once.
	tb.startClientWith("c", map[string]any{"topics": []string{"t"}, "transport": "ws", "backoff": longBackoff},
		tb.tokenScript("c", 2, 3600, 2, 3600))
	tb.waitEvent("c", "error:unauthenticated", 1)
	eval[any](tb, client("c")+".h.close()")
	tb.waitEvent("c", "state:closed", 1)

	ev := tb.events("c")
	want := []string{
		"state:connecting", "state:open", "open", "message:E-1", "authenticated", "message:E-2",
		"close:token_expired", "state:reconnecting", "state:open", "open", "error:unauthenticated",
		"close:client", "state:closed",
	}
	if got := sequence(ev); !slices.Equal(got, want) {
		t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
	}
	calls := tb.tokenCalls("c")
	distinct := map[string]bool{}
	for _, c := range calls {
		distinct[c] = true
	}
	if len(calls) != 4 || len(distinct) != 4 {
		t.Fatalf("token function calls %q, want 4 distinct tokens", calls)
	}
	checkQuery(t, 0, s.request(0), []string{"t"}, "")
	checkQuery(t, 1, s.request(1), []string{"t"}, "E-2")
	if got := []string{tokenOf(s.request(0)), tokenOf(s.request(1))}; !slices.Equal(got, []string{calls[0], calls[2]}) {
		t.Errorf("handshake tokens %q, want %q", got, []string{calls[0], calls[2]})
	}
	for i, want := range []string{calls[1], calls[3]} {
		if f := <-auths; f.Token != want {
			t.Errorf("auth frame %d token %q, want %q", i+1, f.Token, want)
		}
	}
	if a := only(ev, "authenticated")[0]; a.ExpiresAt == "" {
		t.Errorf("authenticated %+v: no expiry", a)
	} else if at, err := time.Parse(time.RFC3339Nano, a.ExpiresAt); err != nil || !at.Equal(jwtExpiry(t, calls[1])) {
		t.Errorf("authenticated expiresAt %q (%v), want the renewed token's exp", a.ExpiresAt, err)
	}
	if c := only(ev, "close")[0]; c.Code != float64(4001) || !c.Reconnect {
		t.Errorf("expiry close %+v", c)
	}
	if e := only(ev, "error")[0]; e.Fatal || e.Request != "auth" || e.Reason != "invalid_token" || e.ID == nil || len(e.Topics) != 0 {
		t.Errorf("refused renewal %+v", e)
	}
}

// A refused WebSocket handshake is invisible to the page (1006): the
// client asks again over HTTP. A refused credential is final without a
// token function and retried with one; the answer to a request that is no
// handshake (400) says nothing, and the client reconnects.
func TestClientWebSocketRefusedHandshake(t *testing.T) {
	s := newScripted(t)
	s.wsRefuse = func(r *http.Request) (int, string) {
		switch tokenOf(r) {
		case "":
			return http.StatusUnauthorized, `{"code":16,"message":"authentication required","details":[]}`
		case "bad":
			return http.StatusUnauthorized, invalidTokenBody
		case "flaky":
			return http.StatusBadRequest, `{"code":3,"message":"no","details":[]}`
		}
		return 0, ""
	}
	s.ws = holdSubscribed
	tb := newTab(t, s.srv.URL+"/blank")
	options := map[string]any{"topics": []string{"t"}, "transport": "ws", "backoff": map[string]any{"initial": 50, "max": 50}}

	tb.startClient("none", options)
	tb.waitEvent("none", "state:closed", 1)
	ev := tb.events("none")
	if got, want := sequence(ev), []string{"state:connecting", "error:refused", "close:refused", "state:closed"}; !slices.Equal(got, want) {
		t.Fatalf("events without a token\n got %s\nwant %s", seqString(got), seqString(want))
	}
	if e := only(ev, "error")[0]; !e.Fatal || e.Status != 401 || e.CloseCode != 1006 || e.Message != "authentication required" {
		t.Errorf("refusal %+v", e)
	}
	if n := len(s.requestsWith("")); n != 2 {
		t.Errorf("%d requests without a token, want 2 (the handshake and its probe)", n)
	}

	for name, want := range map[string][]string{
		"bad":   {"state:connecting", "error:unauthenticated", "close:unauthenticated", "state:reconnecting", "state:open", "open"},
		"flaky": {"state:connecting", "close:network", "state:reconnecting", "state:open", "open"},
	} {
		tb.startClientWith(name, options, tb.tokenScript(name, name, "good"))
		tb.waitEvent(name, "open", 1)
		if got := sequence(tb.events(name)); !slices.Equal(got, want) {
			t.Errorf("events with the token %s first\n got %s\nwant %s", name, seqString(got), seqString(want))
		}
		eval[any](tb, client(name)+".h.close()")
	}
	if e := only(tb.events("bad"), "error")[0]; e.Fatal || e.Status != 401 || e.Reason != "invalid_token" {
		t.Errorf("refused token %+v", e)
	}
}

// TestClientTooManyTopicsIsFinal: a 429 is temporary and retried, except
// one that refuses the request for more topics than the server allows,
// which asking again cannot cure.
func TestClientTooManyTopicsIsFinal(t *testing.T) {
	s := newScripted(t)
	s.wsRefuse = func(r *http.Request) (int, string) {
		switch tokenOf(r) {
		case "many":
			return http.StatusTooManyRequests, `{"code":8,"message":"3 topics on one connection; the limit is 2",` +
				`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"TOO_MANY_TOPICS","domain":"herald"}]}`
		case "busy":
			return http.StatusTooManyRequests, `{"code":8,"message":"subscribe rate limit of 10 per second exceeded",` +
				`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMITED","domain":"herald"}]}`
		}
		return 0, ""
	}
	s.ws = holdSubscribed
	tb := newTab(t, s.srv.URL+"/blank")
	options := map[string]any{"topics": []string{"t"}, "transport": "ws", "backoff": map[string]any{"initial": 50, "max": 50}}

	tb.startClientWith("many", options, tb.tokenScript("many", "many", "many"))
	tb.waitEvent("many", "state:closed", 1)
	e := only(tb.events("many"), "error")[0]
	if !e.Fatal || e.Status != http.StatusTooManyRequests {
		t.Errorf("too many topics: %+v, want a final refusal with status 429", e)
	}
	if n := len(s.requestsWith("many")); n != 2 {
		t.Errorf("%d requests for too many topics, want 2 (the handshake and its probe)", n)
	}

	tb.startClientWith("busy", options, tb.tokenScript("busy", "busy", "good"))
	tb.waitEvent("busy", "open", 1)
	eval[any](tb, client("busy")+".h.close()")
}
