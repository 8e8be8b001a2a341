// Package loadgen drives a running Herald node on the loopback interface
// and measures it: it opens many subscriber connections over Server-Sent
// Events, WebSocket or gRPC, publishes over gRPC at a fixed rate for a
// bounded time, and reports what arrived — deliveries per second, loss,
// duplicates and reordering checked per publisher sequence, delivery latency
// percentiles — together with the server's CPU time and resident memory read
// from /proc. The command herald-bench is its command line; the method and
// the standard measurements are in docs/loadgen.md.
//
// # Safety bounds
//
// A run sends traffic only to loopback addresses (127.0.0.0/8 and ::1):
// Config.Validate refuses any other target, and host names are resolved once
// and must resolve to loopback only. Every run is bounded: at most
// MaxSubscribers connections, MaxRate messages per second, MaxDuration of
// publishing or holding, and each phase (connecting, draining, closing) has
// its own deadline, so a run always ends by itself.
//
// # Measurement
//
// Each payload starts with a fixed-width printable header (see
// EncodePayload): a run id, the publisher number, the publisher's sequence
// number and the send time on the run's monotonic clock, padded with
// printable characters to the payload size, so that it travels unchanged as
// an SSE data line or a JSON string. Subscribers decode the header, record
// latency as receive time minus send time (one process, one clock) in a
// log-linear Histogram, and check each publisher's sequence for gaps,
// duplicates and reordering.
//
// # Concurrency
//
// Run may be called from several goroutines, each run being independent.
// Histogram is safe for concurrent use; the SSE parser and the sequence
// tracker are owned by one goroutine each.
package loadgen
