package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/heraldhq/herald/loadgen"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the run failed (or, with --strict, found a fault)
	exitUsage   = 2 // bad command line or environment
)

// env is what the command gets from its process: environment variables
// and output streams. Tests supply their own.
type env struct {
	lookup lookupEnv
	stdout io.Writer
	stderr io.Writer
}

// benchFlags are the settings of herald-bench.
type benchFlags struct {
	cfg        loadgen.Config
	transport  string
	json       bool
	strict     bool
	quiet      bool
	cpuProfile string
}

const about = `Measure a Herald server on this machine. Open --subscribers connections over
--transport (sse: GET /v1/sse, ws: GET /v1/ws, both on --http-addr; grpc:
Subscribe on --grpc-addr, one connection each), all on --topic; publish over
gRPC to --grpc-addr at --rate messages per second in total for --warmup and
then --duration; wait up to --drain for messages in flight; report what
arrived. Each payload carries its publisher, a sequence number and its send
time, so the report gives loss, duplicates and reordering per publisher
sequence, deliveries per second, and delivery latency (p50, p90, p99, p99.9
and max, within 0.4%; max exact). With --server-pid it also reports the
server's CPU time over the measured window, per million deliveries, and its
resident memory before connecting and at the end, per connection. --idle
opens the connections, publishes nothing and holds them for --duration: the
memory-per-connection measurement.

Only loopback targets are allowed (127.0.0.0/8, ::1); anything else is
refused. Runs are bounded: at most 100000 connections, 100000 msg/s and 1h.
SIGINT ends a run early and prints what it measured; a second SIGINT kills.
Beyond about 20000 connections raise the file limit (ulimit -n) and let
--source-addrs spread connections over 127.0.0.x source addresses.`

func newBenchCommand(f *benchFlags) *command {
	c := newCommand("herald-bench [flags]", about,
		"herald-bench --transport sse --subscribers 1000 --rate 100 --duration 30s --server-pid $(pgrep -x herald)",
		"herald-bench --transport grpc --subscribers 1000 --rate 100 --json > result.json",
		"herald-bench --transport ws --subscribers 10000 --idle --duration 200s --server-pid 4242",
		"HERALD_BENCH_HTTP_ADDR=127.0.0.1:18080 herald-bench --transport sse --subscribers 10 --rate 10 --duration 5s",
	)
	cfg := &f.cfg
	c.Enum(&f.transport, "transport", []string{"sse", "ws", "grpc"}, string(loadgen.DefaultTransport), "How subscribers connect.")
	c.Int(&cfg.Subscribers, "subscribers", "N", loadgen.DefaultSubscribers, "Subscriber connections to open (at most 100000).")
	c.Int(&cfg.Rate, "rate", "MSGS", loadgen.DefaultRate, "Total publish rate, messages per second; deliveries per second are rate × subscribers.")
	c.Duration(&cfg.Duration, "duration", loadgen.DefaultDuration, "Measured time: publishing after the warm-up, or holding the connections with --idle.")
	c.DurationOrZero(&cfg.Warmup, "warmup", 5*time.Second, "Publishing before the measured window; its messages count for loss, not for rates, latency or CPU. Ignored with --idle.")
	c.Int(&cfg.PayloadSize, "payload-size", "BYTES", loadgen.DefaultPayloadSize, fmt.Sprintf("Size of every payload (at least %d: the header with sequence and send time).", loadgen.HeaderLen))
	c.String(&cfg.Topic, "topic", "TOPIC", loadgen.DefaultTopic, "Topic every subscriber subscribes to and every message goes to.")
	c.String(&cfg.HTTPAddr, "http-addr", "ADDR", loadgen.DefaultHTTPAddr, "Server's HTTP address, for sse and ws (loopback only).")
	c.String(&cfg.GRPCAddr, "grpc-addr", "ADDR", loadgen.DefaultGRPCAddr, "Server's gRPC address, for publishing and grpc (loopback only).")
	c.IntOrZero(&cfg.ServerPID, "server-pid", "PID", 0, "none", "Server's process id: report its CPU time and resident memory from /proc.")
	c.IntOrZero(&cfg.SourceAddrs, "source-addrs", "N", 0, "automatic", fmt.Sprintf("Spread connections over the source addresses 127.0.0.1 to 127.0.0.N (one address has about 28000 ports). 0: one per %d connections.", loadgen.ConnsPerSourceAddr))
	c.Int(&cfg.ConnectRate, "connect-rate", "CONNS", loadgen.DefaultConnectRate, "Connections opened per second while ramping up.")
	c.Bool(&cfg.Idle, "idle", false, "Open the connections, publish nothing, hold them for --duration and report the server's memory growth per connection.")
	c.IntOrZero(&cfg.Publishers, "publishers", "N", 0, "automatic", "Concurrent publishers sharing --rate, each with its own sequence, each waiting for one Publish before the next. 0: one per msg/s up to 32, then one per 10 msg/s up to 64.")
	c.Duration(&cfg.Drain, "drain", loadgen.DefaultDrain, "Longest wait for messages in flight after publishing.")
	c.Duration(&cfg.ConnectTimeout, "connect-timeout", loadgen.DefaultConnectTimeout, "Longest time one connection may take to be subscribed.")
	c.Bool(&cfg.SSEEnvelope, "sse-envelope", false, "sse: ask for the JSON envelope (envelope=1) instead of the raw payload.")
	c.Bool(&f.json, "json", false, "Print the report as one JSON object instead of text.")
	c.Bool(&f.strict, "strict", false, "Exit 1 when a message was missing, duplicated or out of order, or a connection failed or was lost.")
	c.Bool(&f.quiet, "quiet", false, "Do not print progress to stderr.")
	c.String(&f.cpuProfile, "cpu-profile", "FILE", "", "Write the load generator's own CPU profile to FILE (go tool pprof), to see what limits it.")
	return c
}

// execute runs the command line args (without the program name) and
// returns the process exit code. ctx ends on SIGINT or SIGTERM.
func execute(ctx context.Context, args []string, e env) int {
	var f benchFlags
	c := newBenchCommand(&f)
	rest, err := c.Parse(args, e.lookup, e.stdout)
	switch {
	case errors.Is(err, errHelp):
		return exitOK
	case err != nil:
		return usageError(e, "%v", err)
	case len(rest) > 0:
		return usageError(e, "unexpected argument %q", rest[0])
	}
	f.cfg.Transport = loadgen.Transport(f.transport)
	if f.quiet {
		f.cfg.Logger = slog.New(slog.DiscardHandler)
	} else {
		f.cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if err := f.cfg.Validate(); err != nil {
		return usageError(e, "%v", err)
	}

	stopProfile, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		fmt.Fprintf(e.stderr, "herald-bench: %v\n", err)
		return exitFailure
	}
	rep, err := loadgen.Run(ctx, f.cfg)
	if perr := stopProfile(); perr != nil {
		fmt.Fprintf(e.stderr, "herald-bench: %v\n", perr)
	}
	if errors.Is(err, loadgen.ErrInvalidConfig) {
		return usageError(e, "%v", err)
	}
	if rep != nil {
		if werr := writeReport(e.stdout, rep, f.json); werr != nil {
			fmt.Fprintf(e.stderr, "herald-bench: writing the report: %v\n", werr)
			return exitFailure
		}
	}
	switch {
	case err != nil:
		fmt.Fprintf(e.stderr, "herald-bench: %v\n", err)
		return exitFailure
	case f.strict && !rep.Interrupted:
		if fault := faults(rep); fault != "" {
			fmt.Fprintf(e.stderr, "herald-bench: --strict: %s\n", fault)
			return exitFailure
		}
	}
	return exitOK
}

// startCPUProfile starts writing the process's CPU profile to path, if
// one is given, and returns the function that finishes it.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}

// writeReport prints the report as text or JSON.
func writeReport(w io.Writer, rep *loadgen.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// faults describes what --strict refuses in a report, or returns "".
func faults(rep *loadgen.Report) string {
	c := rep.Connections
	switch {
	case c.Failed > 0 || c.Lost > 0:
		return fmt.Sprintf("%d connections failed and %d were lost", c.Failed, c.Lost)
	case rep.Deliveries == nil:
		return ""
	case rep.Deliveries.Missing > 0 || rep.Deliveries.Duplicates > 0 || rep.Deliveries.OutOfOrder > 0:
		d := rep.Deliveries
		return fmt.Sprintf("%d missing, %d duplicates, %d out of order", d.Missing, d.Duplicates, d.OutOfOrder)
	}
	return ""
}

// usageError prints a usage problem and returns the usage exit code.
func usageError(e env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "herald-bench: %s\nRun 'herald-bench --help' for usage.\n", fmt.Sprintf(format, args...))
	return exitUsage
}
