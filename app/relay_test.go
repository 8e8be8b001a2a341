package app_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/limits"
)

// relayKey is the API key of the bridges of these tests: a relay, allowed
// to read every topic.
const relayKey = "bridge-relay-key-0123456789"

// startRelayedCore starts a node that verifies tokens signed with
// authtest.Secret and knows relayKey as a relay, with limits lim.
func startRelayedCore(t *testing.T, lim limits.Config) *app.Node {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keys, []byte(`{"keys": [{"name": "bridge", "key": "`+relayKey+`", "subscribe": [">"], "relay": true}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Auth = auth.Config{HMACSecret: authtest.Secret, APIKeysFile: keys}
	cfg.Limits = lim
	return startNode(t, cfg)
}

// startRelayBridge starts a bridge in front of up that verifies the same
// tokens, presents relayKey upstream and limits its clients with lim, and
// waits for it to be ready. It returns the bridge's base URL.
func startRelayBridge(t *testing.T, up *app.Node, lim limits.Config) string {
	t.Helper()
	cfg := testBridgeConfig(t, up.GRPCAddr().String())
	cfg.Auth = auth.Config{HMACSecret: authtest.Secret}
	cfg.UpstreamToken = relayKey
	cfg.Limits = lim
	base := "http://" + startBridgeWith(t, cfg).HTTPAddr().String()
	hc := httpClient(t)
	waitFor(t, 20*time.Second, "the bridge to be ready", func() bool {
		code, _ := get(t, hc, base+"/readyz")
		return code == http.StatusOK
	})
	return base
}

// open sends a request and returns its response, whose body is closed
// when the test ends.
func open(t *testing.T, hc *http.Client, method, url string, header http.Header, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// bodyOf reads what is left of a response's body.
func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The core limits the clients of a bridge one by one: the relayed calls
// name each client and carry the bridge's relay key, so that the core
// believes the name. Each of 70 clients subscribes once, within its own
// subscribe rate, however many the bridge relays from its one connection.
func TestBridgeClientsLimitedOneByOneUpstream(t *testing.T) {
	t.Parallel()
	// A burst of 50 subscribe requests per connection, then one per 100
	// seconds: counted together, 20 of the 70 would be refused however
	// slow the machine.
	up := startRelayedCore(t, limits.Config{SubscribeRate: 0.01, SubscribeBurst: 50})
	base := startRelayBridge(t, up, limits.Config{})
	reader := bearer(authtest.Mint(t, authtest.Grant{Sub: "reader", Subscribe: []string{"news"}}))

	hc := httpClient(t) // HTTP/1.1: every open stream has a connection of its own
	var refused []string
	for range 70 {
		resp := open(t, hc, http.MethodGet, base+"/v1/subscribe?topics=news", reader, "")
		if resp.StatusCode != http.StatusOK {
			refused = append(refused, resp.Status+" "+bodyOf(t, resp)) // a refusal's body ends
		}
	}
	if len(refused) != 0 {
		t.Fatalf("%d of 70 clients refused, the first with %s", len(refused), refused[0])
	}
}

// A bridge applies its own limits to the requests it relays: a connection
// slot per client address while a subscribe stream lasts, shared with the
// browser transports, and the publish rate of each client.
func TestBridgeLimitsRelayedRequests(t *testing.T) {
	t.Parallel()
	up := startRelayedCore(t, limits.Config{})
	base := startRelayBridge(t, up, limits.Config{MaxConnectionsPerIP: 1, PublishRate: 0.01, PublishBurst: 1})
	tok := bearer(authtest.Mint(t, authtest.Grant{Sub: "alice", Subscribe: []string{"news"}, Publish: []string{"news"}}))
	hc := httpClient(t)

	if resp := open(t, hc, http.MethodGet, base+"/v1/subscribe?topics=news", tok, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("first subscribe: %s %s", resp.Status, bodyOf(t, resp))
	}
	// The stream holds its slot: nothing more is read of it.
	for _, path := range []string{"/v1/subscribe?topics=news", "/v1/sse?topic=news"} {
		resp := open(t, hc, http.MethodGet, base+path, tok, "")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("%s while the address's one slot is taken: %s, want 429", path, resp.Status)
		} else if body := bodyOf(t, resp); !strings.Contains(body, "TOO_MANY_CONNECTIONS") {
			t.Errorf("%s while the address's one slot is taken: %s, want too_many_connections", path, body)
		}
	}

	if resp := open(t, hc, http.MethodPost, base+"/v1/topics/news", tok, "first"); resp.StatusCode != http.StatusOK {
		t.Fatalf("first publish: %s %s", resp.Status, bodyOf(t, resp))
	}
	resp := open(t, hc, http.MethodPost, base+"/v1/topics/news", tok, "second")
	if body := bodyOf(t, resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "RATE_LIMITED") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second publish: %s %v %s, want 429 rate_limited with Retry-After", resp.Status, resp.Header, body)
	}
}
