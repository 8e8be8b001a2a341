package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := run(t, t.Context(), nil, "", args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "herald publish [flags] [DATA]") {
			t.Errorf("%v: code %d, stdout %q", args, r.code, r.stdout)
		}
	}
	r := run(t, t.Context(), nil, "", "frobnicate")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown command "frobnicate"`) ||
		!strings.Contains(r.stderr, "Usage:") {
		t.Errorf("unknown command: code %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, t.Context(), nil, "", "help", "frobnicate"); r.code != exitUsage {
		t.Errorf("help for an unknown command: code %d", r.code)
	}
}

func TestCommandHelpListsEveryFlagWithEnvAndDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd   string
		flags map[string]string // flag → its default as printed
	}{
		{"serve", map[string]string{
			"grpc-addr": `":9090"`, "http-addr": `":8080"`, "heartbeat-interval": "15s",
			"history-size": "1000", "history-ttl": "10m", "max-message-size": "1048576",
			"allowed-origins": "none", "queue-len": "1024", "shutdown-timeout": "10s",
			"keepalive-time": "15s", "keepalive-timeout": "10s", "keepalive-min-time": "5s",
			"keepalive-permit-without-stream": "true", "max-connection-idle": "0s",
			"max-connection-age": "0s", "max-connection-age-grace": "0s",
			"log-level": "info", "log-format": "text",
			"auth-hmac-secret": `""`, "auth-public-key": `""`, "auth-jwks-file": `""`,
			"auth-audience": `""`, "auth-issuer": `""`, "api-keys-file": `""`, "allow-anonymous": "none",
			"max-connections": "100000", "max-connections-per-ip": "1000", "publish-rate": "1000",
			"publish-burst": "2000", "subscribe-rate": "10", "subscribe-burst": "50",
			"max-topics-per-connection": "256", "max-header-bytes": "65536",
			"tls-cert-file": `""`, "tls-key-file": `""`,
		}},
		{"bridge", map[string]string{
			"upstream": `"localhost:9090"`, "upstream-token": `""`, "upstream-tls": "false",
			"upstream-ca-file": `""`, "auth-hmac-secret": `""`, "allow-anonymous": "none",
			"max-connections": "100000", "max-header-bytes": "65536", "tls-cert-file": `""`,
		}},
		{"publish", map[string]string{
			"server": `"localhost:9090"`, "topic": `""`, "content-type": `""`, "event": `""`,
			"idempotency-key": `""`, "timeout": "10s", "token": `""`, "tls": "false", "ca-file": `""`,
		}},
		{"subscribe", map[string]string{
			"server": `"localhost:9090"`, "topic": "none", "last-event-id": `""`, "format": "text",
			"token": `""`, "tls": "false", "ca-file": `""`,
		}},
		{"token", map[string]string{
			"secret": `""`, "sub": `""`, "subscribe": "none", "publish": "none", "ttl": "1h",
			"audience": `""`, "issuer": `""`,
		}},
	} {
		r := run(t, t.Context(), nil, "", tc.cmd, "--help")
		if r.code != exitOK {
			t.Fatalf("%s --help: code %d", tc.cmd, r.code)
		}
		for flag, def := range tc.flags {
			want := "env " + envName(flag) + ", default " + def + "\n"
			i := strings.Index(r.stdout, "  --"+flag+" ")
			if i < 0 {
				i = strings.Index(r.stdout, "  --"+flag+"\n")
			}
			if i < 0 || !strings.Contains(r.stdout[i:], want) {
				t.Errorf("%s --help: flag --%s without %q", tc.cmd, flag, strings.TrimSpace(want))
			}
		}
		if !strings.Contains(r.stdout, "Examples:\n  herald "+tc.cmd) {
			t.Errorf("%s --help has no example", tc.cmd)
		}
	}
	if got := envName("keepalive-min-time"); got != "HERALD_KEEPALIVE_MIN_TIME" {
		t.Errorf("envName = %q", got)
	}
}

func TestBadFlagValuesExitTwo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{[]string{"serve", "--heartbeat-interval", "soon"}, nil, "heartbeat-interval: not a duration"},
		{[]string{"serve", "--history-size", "-5"}, nil, "history-size: must be positive"},
		{[]string{"serve", "--history-ttl", "0s"}, nil, "history-ttl: must be positive"},
		{[]string{"serve", "--max-connection-age", "-1s"}, nil, "max-connection-age: must not be negative"},
		{[]string{"serve", "--log-level", "loud"}, nil, "must be one of debug, info, warn, error"},
		{[]string{"serve", "--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"serve", "stray"}, nil, `unexpected argument "stray"`},
		{[]string{"--queue-len", "many"}, nil, "queue-len: not a whole number"},
		{[]string{"serve"}, map[string]string{"HERALD_HISTORY_TTL": "forever"}, `invalid value "forever" for $HERALD_HISTORY_TTL`},
		{[]string{"serve"}, map[string]string{"HERALD_KEEPALIVE_PERMIT_WITHOUT_STREAM": "perhaps"}, "HERALD_KEEPALIVE_PERMIT_WITHOUT_STREAM: not a boolean"},
		{[]string{"publish", "x"}, nil, "--topic is required"},
		{[]string{"publish", "--topic", "t", "a", "b"}, nil, "at most one DATA argument"},
		{[]string{"publish", "--topic", "t", "--timeout", "0"}, nil, "timeout: must be positive"},
		{[]string{"subscribe"}, nil, "at least one --topic is required"},
		{[]string{"subscribe", "--topic", "t", "--format", "xml"}, nil, "must be one of text, json"},
		{[]string{"version", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"serve", "--max-connections", "-1"}, nil, "max-connections: must not be negative"},
		{[]string{"serve", "--publish-burst", "0"}, nil, "publish-burst: must be positive"},
		{[]string{"serve"}, map[string]string{"HERALD_MAX_HEADER_BYTES": "big"}, "$HERALD_MAX_HEADER_BYTES"},
		{[]string{"token", "--subscribe", "x"}, nil, "no secret: give --secret or set HERALD_AUTH_HMAC_SECRET"},
		{[]string{"token", "--secret", "short", "--subscribe", "x"}, nil, "at least 32 are required"},
	} {
		r := run(t, t.Context(), tc.vars, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("%v %v: code %d, stderr %q; want 2 and %q", tc.args, tc.vars, r.code, r.stderr, tc.want)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	var f serveFlags
	c := newServeCommand(&f)
	vars := map[string]string{
		"HERALD_GRPC_ADDR":          "127.0.0.1:1111",
		"HERALD_HISTORY_SIZE":       "not even a number", // never parsed: the flag wins
		"HERALD_HEARTBEAT_INTERVAL": "3s",
		"HERALD_ALLOWED_ORIGINS":    "https://a.example, https://*.b.example",
		"HERALD_KEEPALIVE_TIME":     "", // empty counts as unset
		"HERALD_LOG_FORMAT":         "json",
	}
	rest, err := c.Parse([]string{"--history-size", "7", "--grpc-addr=127.0.0.1:2222", "extra"},
		func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	if cfg.GRPCAddr != "127.0.0.1:2222" || cfg.HistorySize != 7 {
		t.Errorf("flags did not win: addr %q size %d", cfg.GRPCAddr, cfg.HistorySize)
	}
	if cfg.HeartbeatInterval != 3*time.Second || f.logFormat != "json" || cfg.HTTPAddr != ":8080" {
		t.Errorf("environment not applied: heartbeat %v format %q http %q", cfg.HeartbeatInterval, f.logFormat, cfg.HTTPAddr)
	}
	if len(cfg.AllowedOrigins) != 2 || cfg.AllowedOrigins[1] != "https://*.b.example" {
		t.Errorf("allowed origins %q", cfg.AllowedOrigins)
	}
	if cfg.Keepalive.Time != 15*time.Second {
		t.Errorf("empty variable changed keepalive time to %v", cfg.Keepalive.Time)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("rest %q", rest)
	}
}

func TestRepeatedListFlags(t *testing.T) {
	t.Parallel()
	var f subscribeFlags
	c := newSubscribeCommand(&f)
	_, err := c.Parse([]string{"--topic", "a", "--topic", "b.*,c.>"},
		func(k string) (string, bool) { return "ignored", k == "HERALD_TOPIC" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.topics, " ") != "a b.* c.>" {
		t.Errorf("topics %q", f.topics)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(t, t.Context(), nil, "", "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "herald ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: code %d, stdout %q", r.code, r.stdout)
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"x":1}`:    `{"x":1}`,
		"tab\there":  "tab\there",
		"héllo":      "héllo",
		"two\nlines": `"two\nlines"`,
		"\xff\xfe":   `"\xff\xfe"`,
		"bell\a":     `"bell\a"`,
		"":           "",
	} {
		if got := printable([]byte(in)); got != want {
			t.Errorf("printable(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestServeKeepalivePingPolicyFlag(t *testing.T) {
	t.Parallel()
	noEnv := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		args       []string
		wantRefuse bool
	}{
		{nil, false},
		{[]string{"--keepalive-permit-without-stream=false"}, true},
		{[]string{"--keepalive-permit-without-stream=true"}, false},
	} {
		var f serveFlags
		if _, err := newServeCommand(&f).Parse(tc.args, noEnv, io.Discard); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := f.appConfig(io.Discard).Keepalive.RefusePingsWithoutStream; got != tc.wantRefuse {
			t.Errorf("%v: RefusePingsWithoutStream = %v, want %v", tc.args, got, tc.wantRefuse)
		}
	}
}
