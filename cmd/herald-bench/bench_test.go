package main

import (
	"context"
	"encoding/json"
	"github.com/heraldhq/herald/internal/testutil"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/loadgen"
)

func TestHelpListsEveryFlagWithEnvAndDefault(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}} {
		r := run(t, t.Context(), nil, args...)
		if r.code != exitOK {
			t.Fatalf("%v: code %d, stderr %q", args, r.code, r.stderr)
		}
		for flag, def := range map[string]string{
			"transport": "sse", "subscribers": "1000", "rate": "100", "duration": "30s",
			"warmup": "5s", "payload-size": "100", "topic": `"bench"`,
			"http-addr": `"127.0.0.1:8080"`, "grpc-addr": `"127.0.0.1:9090"`,
			"server-pid": "none", "source-addrs": "automatic", "connect-rate": "2000",
			"idle": "false", "publishers": "automatic", "drain": "10s", "connect-timeout": "10s",
			"sse-envelope": "false", "json": "false", "strict": "false", "quiet": "false",
			"cpu-profile": `""`,
		} {
			want := "env " + envName(flag) + ", default " + def + "\n"
			i := strings.Index(r.stdout, "  --"+flag+" ")
			if i < 0 {
				i = strings.Index(r.stdout, "  --"+flag+"\n")
			}
			if i < 0 || !strings.Contains(r.stdout[i:], want) {
				t.Errorf("--help: flag --%s without %q", flag, strings.TrimSpace(want))
			}
		}
		if !strings.Contains(r.stdout, "Examples:\n  herald-bench ") || !strings.Contains(r.stdout, "Only loopback targets") {
			t.Errorf("--help lacks examples or the loopback rule:\n%s", r.stdout)
		}
	}
	if got := envName("server-pid"); got != "HERALD_BENCH_SERVER_PID" {
		t.Errorf("envName = %q", got)
	}
}

func TestBadCommandLinesExitTwo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{[]string{"--transport", "smoke"}, nil, "must be one of sse, ws, grpc"},
		{[]string{"--subscribers", "0"}, nil, "must be positive"},
		{[]string{"--subscribers", "100001"}, nil, "subscribers 100001 out of range"},
		{[]string{"--rate", "fast"}, nil, "not a whole number"},
		{[]string{"--duration", "10"}, nil, "not a duration"},
		{[]string{"--warmup", "-1s"}, nil, "must not be negative"},
		{[]string{"--server-pid", "-1"}, nil, "must not be negative"},
		{[]string{"--payload-size", "10"}, nil, "smaller than the 43-byte header"},
		{[]string{"--topic", "a.*"}, nil, "not allowed"},
		{[]string{"--grpc-addr", "10.0.0.1:9090"}, nil, "only loopback targets are allowed"},
		{[]string{"--http-addr", "example.com"}, nil, "not host:port"},
		{nil, map[string]string{"HERALD_BENCH_HTTP_ADDR": "192.0.2.7:8080"}, "only loopback targets are allowed"},
		{nil, map[string]string{"HERALD_BENCH_RATE": "lots"}, "$HERALD_BENCH_RATE"},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{[]string{"--no-such-flag"}, nil, "flag provided but not defined"},
		{[]string{"--server-pid", strconv.Itoa(1 << 30)}, nil, "--server-pid"},
	} {
		r := run(t, t.Context(), tc.vars, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "herald-bench --help") {
			t.Errorf("%v %v: code %d, stderr %q; want 2 and %q", tc.args, tc.vars, r.code, r.stderr, tc.want)
		}
	}
}

func TestRunPrintsJSONReport(t *testing.T) {
	t.Parallel()
	node := startNode(t)
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	r := run(t, t.Context(), nil,
		"--transport", "grpc", "--subscribers", "3", "--rate", "20", "--duration", "500ms", "--warmup", "0s",
		"--grpc-addr", node.GRPCAddr().String(), "--http-addr", node.HTTPAddr().String(),
		"--server-pid", strconv.Itoa(os.Getpid()), "--json", "--strict", "--quiet", "--cpu-profile", profile)
	if r.code != exitOK {
		t.Fatalf("code %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("--quiet still wrote %q", r.stderr)
	}
	var rep loadgen.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, r.stdout)
	}
	if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
		t.Errorf("--cpu-profile wrote no profile: %v", err)
	}
	if rep.Transport != loadgen.TransportGRPC || rep.Connections.Connected != 3 || rep.Deliveries == nil ||
		rep.Deliveries.Expected == 0 || rep.Deliveries.Missing != 0 || rep.Server == nil || rep.Server.RSSBeforeKiB <= 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestRunTakesSettingsFromEnvironment(t *testing.T) {
	t.Parallel()
	node := startNode(t)
	vars := map[string]string{
		"HERALD_BENCH_TRANSPORT":   "grpc",
		"HERALD_BENCH_SUBSCRIBERS": "2",
		"HERALD_BENCH_RATE":        "10",
		"HERALD_BENCH_DURATION":    "300ms",
		"HERALD_BENCH_WARMUP":      "0s",
		"HERALD_BENCH_GRPC_ADDR":   node.GRPCAddr().String(),
		"HERALD_BENCH_HTTP_ADDR":   node.HTTPAddr().String(),
		"HERALD_BENCH_TOPIC":       "from.env",
	}
	// A flag on the command line wins over its variable.
	r := run(t, t.Context(), vars, "--subscribers", "4")
	if r.code != exitOK {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"herald-bench grpc: 4 subscribers of " + node.GRPCAddr().String(),
		`topic "from.env"`,
		"connections  4 connected of 4",
		"0 missing, 0 duplicates, 0 out of order",
		"latency      p50 ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "msg=publishing") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
}

func TestFailedRunExitsOne(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there any more
	r := run(t, t.Context(), nil, "--transport", "grpc", "--subscribers", "2", "--duration", "1s",
		"--grpc-addr", addr, "--quiet")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no subscriber could connect") {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "0 connected of 2 attempted") || !strings.Contains(r.stdout, "failed 2×") {
		t.Fatalf("the report does not say what failed:\n%s", r.stdout)
	}
}

func TestInterruptPrintsWhatItHas(t *testing.T) {
	t.Parallel()
	node := startNode(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"--transport", "grpc", "--subscribers", "2", "--rate", "10",
			"--duration", "1h", "--grpc-addr", node.GRPCAddr().String(), "--http-addr", node.HTTPAddr().String()},
			env{lookup: func(string) (string, bool) { return "", false }, stdout: &stdout, stderr: &stderr})
	}()
	waitFor(t, 20*time.Second, "publishing to start", func() bool { return strings.Contains(stderr.String(), "msg=publishing") })
	cancel() // what SIGINT does
	if code := <-done; code != exitOK {
		t.Fatalf("code %d after an interruption, stderr %q", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "INTERRUPTED") || !strings.Contains(out, "connections  2 connected") {
		t.Fatalf("report after an interruption:\n%s", out)
	}
}

func TestStrictFaults(t *testing.T) {
	t.Parallel()
	clean := func() *loadgen.Report {
		return &loadgen.Report{Connections: loadgen.Connections{Connected: 3}, Deliveries: &loadgen.Deliveries{Expected: 9, Received: 9}}
	}
	if f := faults(clean()); f != "" {
		t.Errorf("a clean report has faults: %q", f)
	}
	if f := faults(&loadgen.Report{Mode: "idle"}); f != "" {
		t.Errorf("a clean idle report has faults: %q", f)
	}
	for name, spoil := range map[string]func(*loadgen.Report){
		"failed":       func(r *loadgen.Report) { r.Connections.Failed = 1 },
		"lost":         func(r *loadgen.Report) { r.Connections.Lost = 1 },
		"missing":      func(r *loadgen.Report) { r.Deliveries.Missing = 1 },
		"duplicates":   func(r *loadgen.Report) { r.Deliveries.Duplicates = 1 },
		"out of order": func(r *loadgen.Report) { r.Deliveries.OutOfOrder = 1 },
	} {
		rep := clean()
		spoil(rep)
		if f := faults(rep); f == "" {
			t.Errorf("%s: no fault found", name)
		}
	}
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor
