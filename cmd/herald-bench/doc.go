// Command herald-bench measures a Herald server running on the same
// machine: it opens many subscribers over Server-Sent Events, WebSocket or
// gRPC, publishes over gRPC at a fixed rate for a bounded time, and reports
// deliveries per second, loss, duplicates and reordering, delivery latency
// percentiles, and — given the server's pid — the server's CPU time per
// million deliveries and memory per connection.
//
//	herald-bench --transport sse --subscribers 1000 --rate 100 --duration 30s --server-pid PID
//	herald-bench --transport ws --subscribers 10000 --idle --duration 200s --server-pid PID
//
// It sends traffic only to loopback addresses and refuses any other target;
// every run is bounded in connections and time and ends by itself. SIGINT
// or SIGTERM end a run early; it still prints what it measured. Every flag
// can also be set by an environment variable named after it:
// --subscribers is HERALD_BENCH_SUBSCRIBERS. The measurement method and the
// standard scenarios are in docs/loadgen.md; scripts/bench.sh runs them
// with the server and the load generator pinned to separate cores.
//
// The load generator runs its garbage collector at GOGC=400 unless GOGC is
// set: on a measurement machine memory is plentiful, and CPU it spends is
// CPU the measured server might have had.
//
// Exit codes: 0 when the run completed (or was interrupted), 1 when it
// failed — or, with --strict, when a message was missing, duplicated or out
// of order or a connection failed or was lost — and 2 for a bad command
// line or environment.
//
// The logic takes its arguments, environment lookup and output streams as
// parameters (see execute), so that tests run it in-process; main only
// wires it to the process.
package main
