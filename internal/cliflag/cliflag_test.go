package cliflag

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 500 * time.Millisecond: "500ms", 15 * time.Second: "15s",
		10 * time.Minute: "10m", 2 * time.Hour: "2h", 90 * time.Second: "1m30s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseEnvironmentAndPrecedence(t *testing.T) {
	t.Parallel()
	var addr string
	var n, z int
	var list []string
	var on bool
	c := New("APP_", "serve", "app serve [flags]", "Serve.", "app serve")
	c.String(&addr, "addr", "ADDR", ":1", "Address.")
	c.Int(&n, "count", "N", 3, "Count.")
	c.IntOrZero(&z, "extra", "N", 0, "none", "Extra.")
	c.List(&list, "topic", "TOPIC", "Topics.")
	c.Bool(&on, "on", false, "Switch.")
	env := map[string]string{"APP_ADDR": ":2", "APP_COUNT": "9", "APP_TOPIC": "a,b", "APP_ON": ""}
	rest, err := c.Parse([]string{"--count", "5", "--topic", "c", "x"},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if addr != ":2" || n != 5 || z != 0 || on || strings.Join(list, ",") != "c" || strings.Join(rest, ",") != "x" {
		t.Errorf("addr %q n %d z %d on %v list %v rest %v", addr, n, z, on, list, rest)
	}
	if c.Name() != "serve" || c.EnvName("grpc-addr") != "APP_GRPC_ADDR" {
		t.Errorf("name %q env %q", c.Name(), c.EnvName("grpc-addr"))
	}
}

func TestParseRefusesBadValuesAndPrintsHelp(t *testing.T) {
	t.Parallel()
	noEnv := func(string) (string, bool) { return "", false }
	newCmd := func() *Command {
		var n int
		var d time.Duration
		var e string
		c := New("APP_", "serve", "app serve [flags]", "Serve.", "app serve")
		c.Int(&n, "count", "N", 3, "Count.")
		c.Duration(&d, "wait", time.Second, "Wait.")
		c.Enum(&e, "mode", []string{"a", "b"}, "a", "Mode.")
		return c
	}
	for _, args := range [][]string{{"--count", "0"}, {"--count", "x"}, {"--wait", "0s"}, {"--wait", "soon"}, {"--mode", "c"}, {"--nope"}} {
		if _, err := newCmd().Parse(args, noEnv, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := newCmd().Parse(nil, func(k string) (string, bool) { return "-1", k == "APP_COUNT" }, io.Discard); err == nil || !strings.Contains(err.Error(), "$APP_COUNT") {
		t.Errorf("bad environment value: %v", err)
	}
	var help strings.Builder
	if _, err := newCmd().Parse([]string{"--help"}, noEnv, &help); !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"app serve [flags]", "--count N", "env APP_COUNT, default 3", "--mode a|b", "Examples:\n  app serve"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
}

func TestRateOrZero(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"0.5", 0.5, false}, {"0", 0, false}, {"1000", 1000, false},
		{"-1", 0, true}, {"NaN", 0, true}, {"Inf", 0, true}, {"fast", 0, true},
	} {
		var r float64
		c := New("T", "t", "t", "t")
		c.RateOrZero(&r, "rate", "PER_SECOND", 3, "3", "A rate.")
		_, err := c.Parse([]string{"--rate", tc.in}, func(string) (string, bool) { return "", false }, io.Discard)
		if (err != nil) != tc.err || !tc.err && r != tc.want {
			t.Errorf("--rate %s: %v, %v", tc.in, r, err)
		}
	}
}
