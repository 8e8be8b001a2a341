package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldhq/herald/limits"
)

func TestServeAccessFlagsReachTheConfig(t *testing.T) {
	t.Parallel()
	var f serveFlags
	vars := map[string]string{
		"HERALD_AUTH_HMAC_SECRET": "from the environment",
		"HERALD_ALLOW_ANONYMOUS":  "public.>",
		"HERALD_TLS_KEY_FILE":     "key.pem",
	}
	_, err := newServeCommand(&f).Parse([]string{
		"--auth-audience", "herald", "--auth-issuer", "https://id.example", "--auth-public-key", "keys.pem",
		"--auth-jwks-file", "jwks.json", "--api-keys-file", "keys.json", "--allow-anonymous", "news,status.*",
		"--max-connections", "0", "--max-connections-per-ip", "5", "--publish-rate", "0.5", "--publish-burst", "9",
		"--subscribe-rate", "0", "--subscribe-burst", "3", "--max-topics-per-connection", "4",
		"--max-header-bytes", "8192", "--tls-cert-file", "cert.pem",
	}, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.appConfig(io.Discard)
	a := cfg.Auth
	if a.HMACSecret != "from the environment" || a.Audience != "herald" || a.Issuer != "https://id.example" ||
		a.PublicKeyFile != "keys.pem" || a.JWKSFile != "jwks.json" || a.APIKeysFile != "keys.json" ||
		strings.Join(a.AllowAnonymous, " ") != "news status.*" {
		t.Errorf("auth %+v", a)
	}
	// 0 turns a limit off, which limits.Config spells negative.
	want := limits.Config{MaxConnections: -1, MaxConnectionsPerIP: 5, PublishRate: 0.5, PublishBurst: 9,
		SubscribeRate: -1, SubscribeBurst: 3, MaxTopics: 4}
	if !reflect.DeepEqual(cfg.Limits, want) {
		t.Errorf("limits %+v, want %+v", cfg.Limits, want)
	}
	if cfg.TLS.CertFile != "cert.pem" || cfg.TLS.KeyFile != "key.pem" || cfg.MaxHeaderBytes != 8192 {
		t.Errorf("TLS %+v, max header bytes %d", cfg.TLS, cfg.MaxHeaderBytes)
	}
}

func TestDefaultAccessFlagsAreTheLibraryDefaults(t *testing.T) {
	t.Parallel()
	var f serveFlags
	if _, err := newServeCommand(&f).Parse(nil, func(string) (string, bool) { return "", false }, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg := f.appConfig(io.Discard)
	want := limits.Config{
		MaxConnections: limits.DefaultMaxConnections, MaxConnectionsPerIP: limits.DefaultMaxConnectionsPerIP,
		PublishRate: limits.DefaultPublishRate, PublishBurst: limits.DefaultPublishBurst,
		SubscribeRate: limits.DefaultSubscribeRate, SubscribeBurst: limits.DefaultSubscribeBurst,
		MaxTopics: limits.DefaultMaxTopics,
	}
	if !reflect.DeepEqual(cfg.Limits, want) || cfg.Auth.Enabled() || cfg.TLS.Enabled() {
		t.Errorf("defaults: limits %+v, auth %v, TLS %v", cfg.Limits, cfg.Auth.Enabled(), cfg.TLS.Enabled())
	}
}

func TestBridgeUpstreamFlags(t *testing.T) {
	t.Parallel()
	var f bridgeFlags
	vars := map[string]string{"HERALD_UPSTREAM_TOKEN": "bridge-key-0123456789"}
	_, err := newBridgeCommand(&f).Parse([]string{"--upstream-ca-file", "ca.pem", "--upstream-tls", "--auth-hmac-secret", "s"},
		func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.cfg.UpstreamToken != "bridge-key-0123456789" || f.cfg.UpstreamCAFile != "ca.pem" || !f.cfg.UpstreamTLS ||
		f.access.auth.HMACSecret != "s" {
		t.Errorf("bridge config %+v, auth %+v", f.cfg, f.access.auth)
	}
}
