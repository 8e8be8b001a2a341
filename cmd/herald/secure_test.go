package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/tlsfiles/tlstest"
)

// startSecureNode starts a node that serves TLS and requires tokens
// signed with testSecret, and returns it with the file of the CA that
// signed its certificate.
func startSecureNode(t *testing.T) (n *app.Node, caFile string) {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	cfg := testNodeConfig(t)
	cfg.TLS.CertFile, cfg.TLS.KeyFile = ca.WritePair(t, dir, "herald")
	cfg.Auth = auth.Config{HMACSecret: testSecret}
	return startNode(t, cfg), ca.WriteCA(t, dir)
}

// token mints a token with testSecret.
func token(t *testing.T, perms ...string) string {
	t.Helper()
	tok, err := mintToken(tokenFlags{secret: testSecret, subject: "cli", subscribe: perms, publish: perms, ttl: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestClientCommandsReachASecureNode(t *testing.T) {
	t.Parallel()
	n, caFile := startSecureNode(t)
	addr := n.GRPCAddr().String()
	tok := token(t, "secure.>")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	sub := startSubscribe(t, "--server", addr, "--ca-file", caFile, "--token", tok, "--topic", "secure.>")
	waitFor(t, 20*time.Second, "the subscription", func() bool { return strings.Contains(sub.stderr.String(), "subscribed to") })

	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string // in stderr; "" for success
	}{
		{"no token", nil, []string{"--ca-file", caFile}, "Unauthenticated"},
		{"plain text", map[string]string{"HERALD_TOKEN": tok}, nil, "Unavailable"},
		{"system CAs", map[string]string{"HERALD_TOKEN": tok}, []string{"--tls"}, "certificate"},
		{"token and CA", map[string]string{"HERALD_TOKEN": tok}, []string{"--ca-file", caFile}, ""},
	} {
		args := append([]string{"publish", "--server", addr, "--topic", "secure.a", "--timeout", "5s"}, tc.args...)
		r := run(t, ctx, tc.vars, "", append(args, tc.name)...)
		if tc.want == "" && r.code != exitOK {
			t.Fatalf("%s: code %d, stderr %q", tc.name, r.code, r.stderr)
		}
		if tc.want != "" && (r.code != exitFailure || !strings.Contains(r.stderr, tc.want)) {
			t.Errorf("%s: code %d, stderr %q; want 1 and %q", tc.name, r.code, r.stderr, tc.want)
		}
	}
	if lines := sub.waitLines(t, 1); len(lines) != 1 || !strings.HasSuffix(lines[0], " secure.a token and CA") {
		t.Fatalf("subscriber printed %q, want only the authorized publish", lines)
	}
}

func TestServeSaysWhoMayDoWhat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		vars   map[string]string
		notice bool
		record string
	}{
		{"open", nil, true, "OPEN MODE"},
		{"token", map[string]string{"HERALD_AUTH_HMAC_SECRET": testSecret, "HERALD_ALLOW_ANONYMOUS": "public.>"}, false, "authentication required"},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		var stdout, stderr syncBuffer
		vars := map[string]string{"HERALD_LOG_FORMAT": "json", "HERALD_GRPC_ADDR": "127.0.0.1:0", "HERALD_HTTP_ADDR": "127.0.0.1:0"}
		for k, v := range tc.vars {
			vars[k] = v
		}
		done := make(chan int, 1)
		go func() { done <- execute(ctx, []string{"serve"}, testEnv(vars, "", &stdout, &stderr)) }()
		waitFor(t, 20*time.Second, "the start log record", func() bool {
			_, ok := logRecord(stderr.String(), "herald node started")
			return ok
		})
		cancel()
		if code := <-done; code != exitOK {
			t.Fatalf("%s: serve exited %d: %s", tc.name, code, stderr.String())
		}
		out := stderr.String()
		if got := strings.Contains(out, "herald serve: WARNING: open mode: "); got != tc.notice {
			t.Errorf("%s: open-mode notice on stderr: %v, want %v:\n%s", tc.name, got, tc.notice, out)
		}
		if !strings.Contains(out, `"msg":"`+tc.record) {
			t.Errorf("%s: no %q record:\n%s", tc.name, tc.record, out)
		}
		if strings.Contains(out, testSecret) {
			t.Errorf("%s: the secret is in the output", tc.name)
		}
	}
}
