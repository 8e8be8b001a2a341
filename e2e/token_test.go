package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
)

// startSecureNode starts a node that requires tokens signed with
// authtest.Secret and ends streams exactly at their token's expiry (no
// leeway).
func startSecureNode(t *testing.T) *app.Node {
	t.Helper()
	return startNodeWith(t, "127.0.0.1:0", auth.Config{HMACSecret: authtest.Secret, Leeway: -1})
}

// publisherToken returns a token that may publish everywhere for a minute.
func publisherToken(t *testing.T) string {
	t.Helper()
	return authtest.Mint(t, authtest.Grant{Sub: "publisher", Expires: time.Now().Add(time.Minute), Publish: []string{">"}})
}

// minterJS makes a token function that signs, with WebCrypto, a token for
// the subject alice that may subscribe to private.{sub} and expires 2 to
// 3 seconds after the call. It lists the tokens it issued ({token, exp})
// in its issued property. hold() makes later calls wait until release();
// waiting counts the calls that wait. Argument: the HMAC secret.
const minterJS = `((secret) => {
  const enc = new TextEncoder();
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const key = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const f = async () => {
    f.waiting++;
    await f.gate;
    f.waiting--;
    const claims = {
      sub: 'alice', exp: Math.ceil((Date.now() + 2000) / 1000), jti: String(f.issued.length + 1),
      herald: { subscribe: ['private.{sub}'] },
    };
    const text = b64(enc.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))) + '.' + b64(enc.encode(JSON.stringify(claims)));
    const token = text + '.' + b64(await crypto.subtle.sign('HMAC', await key, enc.encode(text)));
    f.issued.push({ token, exp: claims.exp });
    return token;
  };
  f.issued = [];
  f.waiting = 0;
  f.gate = Promise.resolve();
  f.hold = () => { f.gate = new Promise((resolve) => { f.release = resolve; }); };
  return f;
})(%s)`

// startTokenClient installs a token minter (minterJS) in the page and
// starts the client c on private.alice with it.
func (tb *tab) startTokenClient(transport string) {
	tb.t.Helper()
	secret, _ := json.Marshal(authtest.Secret)
	eval[any](tb, fmt.Sprintf(`(window.minter = %s, null)`, fmt.Sprintf(minterJS, secret)))
	tb.startClientWith("c", map[string]any{
		"topics": []string{"private.alice"}, "transport": transport,
		"backoff": map[string]any{"initial": 100, "max": 500},
	}, `{token: window.minter}`)
}

// upTo returns the events up to and including the first whose short form
// is last.
func upTo(t *testing.T, events []event, last string) []event {
	t.Helper()
	for i, e := range events {
		if e.String() == last {
			return events[:i+1]
		}
	}
	t.Fatalf("no %s in %s", last, seqString(sequence(events)))
	return nil
}

// messageIDs returns the ids of the message events.
func messageIDs(events []event) []string {
	var ids []string
	for _, m := range only(events, "message") {
		ids = append(ids, *m.ID)
	}
	return ids
}

// A node that requires tokens: the browser subscribes with a token
// function; when its token expires mid-stream (the SSE stream ends, the
// WebSocket closes with 4001: here the function holds back the renewal),
// the client reconnects at once with a fresh token and resumes, so that
// the messages published across the expiry all arrive, once each, in
// order.
func TestBrowserTokenExpiry(t *testing.T) {
	transports(t, func(t *testing.T, transport string) {
		node := startSecureNode(t)
		base, pub := baseURL(node), publisherToken(t)
		tb := newTab(t, newGate(t, node.HTTPAddr().String()).URL()+"/")
		tb.quietDemo()
		tb.startTokenClient(transport)
		tb.waitEvent("c", "open", 1)

		// The token function answers no more until the expiry is past and
		// two more messages are published.
		eval[any](tb, `window.minter.hold()`)
		ids := []string{publishAs(t, base, pub, "private.alice", "text/plain", "", []byte("before")).ID}
		tb.waitEvent("c", "close:token_expired", 1)
		tb.waitFor(`window.minter.waiting > 0`, `'the client did not ask for a fresh token'`)
		for _, body := range []string{"across 1", "across 2"} {
			ids = append(ids, publishAs(t, base, pub, "private.alice", "text/plain", "", []byte(body)).ID)
		}
		eval[any](tb, `window.minter.release()`)
		tb.waitEvent("c", "message:"+ids[2], 1)

		ev := upTo(t, tb.events("c"), "message:"+ids[2])
		if got := messageIDs(ev); !slices.Equal(got, ids) {
			t.Errorf("message ids %q, want %q", got, ids)
		}
		closes := only(ev, "close")
		if len(closes) != 1 || closes[0].Reason != "token_expired" || !closes[0].Reconnect {
			t.Errorf("closes %+v, want one token_expired that reconnects", closes)
		}
		if transport == "ws" && closes[0].Code != float64(4001) {
			t.Errorf("WebSocket close code %v, want 4001", closes[0].Code)
		}
		if n := len(only(ev, "open")); n != 2 {
			t.Errorf("%d subscriptions, want 2: %s", n, seqString(sequence(ev)))
		}
		if n := eval[int](tb, `window.minter.issued.length`); n < 2 {
			t.Errorf("%d tokens issued, want a fresh one for the new connection", n)
		}
	})
}

// Over WebSocket, the client renews its token in place before it
// expires: the connection outlives its first token, and messages
// published after that token's expiry arrive on it.
func TestBrowserTokenRenewedInPlace(t *testing.T) {
	findBrowser(t)
	node := startSecureNode(t)
	base, pub := baseURL(node), publisherToken(t)
	tb := newTab(t, newGate(t, node.HTTPAddr().String()).URL()+"/")
	tb.quietDemo()
	tb.startTokenClient("ws")
	tb.waitEvent("c", "open", 1)

	ids := []string{publishAs(t, base, pub, "private.alice", "text/plain", "", []byte("first token")).ID}
	tb.waitEvent("c", "authenticated", 1)
	tb.waitFor(`Date.now() > window.minter.issued[0].exp * 1000`, `'the first token did not expire'`)
	ids = append(ids, publishAs(t, base, pub, "private.alice", "text/plain", "", []byte("renewed token")).ID)
	tb.waitEvent("c", "message:"+ids[1], 1)

	ev := upTo(t, tb.events("c"), "message:"+ids[1])
	if got := messageIDs(ev); !slices.Equal(got, ids) {
		t.Errorf("message ids %q, want %q", got, ids)
	}
	if c := only(ev, "close"); len(c) != 0 {
		t.Errorf("closes %+v: the connection should have outlived its first token", c)
	}
	a := only(ev, "authenticated")[0]
	issued := eval[[]struct {
		Exp int64 `json:"exp"`
	}](tb, `window.minter.issued`)
	if at, err := time.Parse(time.RFC3339Nano, a.ExpiresAt); err != nil || len(issued) < 2 || !at.Equal(time.Unix(issued[1].Exp, 0)) {
		t.Errorf("authenticated %+v (%v), want the expiry of the second token of %+v", a, err, issued)
	}
}

// Without a token, a node that requires one refuses the client, which
// says so and stops, rather than trying again and again.
func TestBrowserWithoutToken(t *testing.T) {
	transports(t, func(t *testing.T, transport string) {
		node := startSecureNode(t)
		tb := newTab(t, newGate(t, node.HTTPAddr().String()).URL()+"/")
		tb.quietDemo()
		tb.startClient("c", map[string]any{"topics": []string{"private.alice"}, "transport": transport})
		tb.waitEvent("c", "state:closed", 1)
		ev := tb.events("c")
		if got, want := sequence(ev), []string{"state:connecting", "error:refused", "close:refused", "state:closed"}; !slices.Equal(got, want) {
			t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
		}
		if e := only(ev, "error")[0]; !e.Fatal || e.Status != 401 || e.Message == "" {
			t.Errorf("refusal %+v", e)
		}
	})
}
