package main

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/topic"
)

// testSecret is the HMAC secret of the tests' tokens.
const testSecret = "an HMAC secret of at least 32 bytes, for tests"

func TestTokenRoundTripsThroughTheAuthenticator(t *testing.T) {
	t.Parallel()
	r := run(t, t.Context(), map[string]string{"HERALD_AUTH_HMAC_SECRET": testSecret}, "",
		"token", "--sub", "alice", "--subscribe", "news.>,user.{sub}", "--publish", "chat.{sub}",
		"--ttl", "2h", "--audience", "herald", "--issuer", "https://id.example")
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
		t.Fatalf("token: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	tok := strings.TrimSpace(r.stdout)
	a, err := auth.New(auth.Config{HMACSecret: testSecret, Audience: "herald", Issuer: "https://id.example"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(tok)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if id.Kind != auth.Token || id.Subject != "alice" {
		t.Errorf("identity %v %q", id.Kind, id.Subject)
	}
	if d := time.Until(id.Expires); d < 2*time.Hour-time.Minute || d > 2*time.Hour {
		t.Errorf("expires in %v, want 2h", d)
	}
	for p, want := range map[string]bool{"news.eu": true, "user.alice": true, "user.bob": false, "chat.alice": false} {
		if got := id.CanSubscribe(topic.MustParsePattern(p)); got != want {
			t.Errorf("may subscribe to %s: %v, want %v", p, got, want)
		}
	}
	if !id.CanPublish("chat.alice") || id.CanPublish("chat.bob") || id.CanPublish("news.eu") {
		t.Errorf("publish rights %v", id.PublishPatterns())
	}

	// Claims a server checks: another audience, another secret.
	other, err := auth.New(auth.Config{HMACSecret: testSecret, Audience: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(tok); err == nil {
		t.Error("a token for audience herald was accepted elsewhere")
	}
	flag := run(t, t.Context(), map[string]string{"HERALD_AUTH_HMAC_SECRET": testSecret}, "",
		"token", "--secret", strings.Repeat("k", 32), "--subscribe", "news")
	if _, err := a.Authenticate(strings.TrimSpace(flag.stdout)); flag.code != exitOK || err == nil {
		t.Errorf("--secret did not win over the environment: code %d, %v", flag.code, err)
	}
}

func TestTokenRefusesWhatServersWouldRefuse(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"HERALD_AUTH_HMAC_SECRET": testSecret}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--subscribe", "user.{sub}"}, "no sub claim"},
		{[]string{"--sub", "a.b", "--publish", "chat.{sub}"}, "not a single topic token"},
		{[]string{"--sub", "alice"}, "give --subscribe or --publish"},
		{[]string{"--subscribe", "bad topic"}, "herald.subscribe[0]"},
		{[]string{"--subscribe", "x", "stray"}, `unexpected argument "stray"`},
	} {
		r := run(t, t.Context(), vars, "", append([]string{"token"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}
