package loadgen

import (
	"net/netip"
	"time"
)

// Report is the result of a run. Its JSON form (field names as tagged) is
// what herald-bench --json prints; durations are in seconds or
// milliseconds as the names say, memory in KiB.
type Report struct {
	// RunID identifies the run's payloads.
	RunID string `json:"run_id"`
	// Transport is how subscribers connected.
	Transport Transport `json:"transport"`
	// Mode is "publish", or "idle" for the memory-per-connection run.
	Mode string `json:"mode"`
	// Interrupted is set when the run was stopped before its end.
	Interrupted bool `json:"interrupted"`
	// Error says why the run failed, if it did.
	Error string `json:"error,omitempty"`
	// Settings are the run's parameters.
	Settings Settings `json:"settings"`
	// Connections says how connecting went and how many lasted.
	Connections Connections `json:"connections"`
	// Publish says what was published; absent in idle mode.
	Publish *Publish `json:"publish,omitempty"`
	// Deliveries says what arrived; absent in idle mode.
	Deliveries *Deliveries `json:"deliveries,omitempty"`
	// Latency is the delivery latency of the messages sent in the
	// measured window; absent in idle mode.
	Latency *Latency `json:"latency,omitempty"`
	// Server is what /proc said of the server process; absent without a
	// server pid.
	Server *Server `json:"server,omitempty"`
	// LoadGen is the load generator's own CPU time over the same window:
	// close to one core means it, not the server, may be the limit.
	LoadGen *LoadGen `json:"loadgen,omitempty"`
	// Machine is the CPU use of the whole machine over the window: what
	// neither the server nor the load generator used tells whether the
	// run had the machine to itself.
	Machine *Machine `json:"machine,omitempty"`
}

// Machine is the whole machine's CPU use over the measured window.
type Machine struct {
	// CPUs is the number of CPUs.
	CPUs int `json:"cpus"`
	// BusyCores is the CPU time of every process over the window, as a
	// number of cores kept busy.
	BusyCores float64 `json:"busy_cores"`
	// OtherCores is the part of BusyCores used neither by the server nor
	// by the load generator (the kernel's network work outside their
	// time, and other processes). Only the server's pid is known, so with
	// no server pid it includes the server. Well above zero, the machine
	// was not quiet and the run shared its cores.
	OtherCores float64 `json:"other_cores"`
}

// LoadGen is the load generator's own CPU use over the measured window.
type LoadGen struct {
	CPUSeconds float64 `json:"cpu_s"`
	CPUCores   float64 `json:"cpu_cores"`
}

// Settings are the parameters of a run, defaults applied.
type Settings struct {
	Target          string  `json:"target"`
	Topic           string  `json:"topic"`
	Subscribers     int     `json:"subscribers"`
	Rate            int     `json:"rate"`
	Publishers      int     `json:"publishers"`
	PayloadSize     int     `json:"payload_size"`
	DurationSeconds float64 `json:"duration_s"`
	WarmupSeconds   float64 `json:"warmup_s"`
	SourceAddrs     int     `json:"source_addrs"`
	ConnectRate     int     `json:"connect_rate"`
	SSEEnvelope     bool    `json:"sse_envelope,omitempty"`
}

// Connections counts subscriber connections.
type Connections struct {
	// Requested is the number of subscribers asked for; Attempted those
	// tried before the run ended.
	Requested int `json:"requested"`
	Attempted int `json:"attempted"`
	// Connected opened and were confirmed subscribed; Failed did not.
	Connected int `json:"connected"`
	Failed    int `json:"failed"`
	// Lost ended before the run closed them (the server closed them, or
	// the network failed).
	Lost int `json:"lost"`
	// ConnectSeconds is how long connecting took.
	ConnectSeconds float64 `json:"connect_s"`
	// Heartbeats counts the heartbeats received on all connections.
	Heartbeats uint64 `json:"heartbeats"`
	// FailureReasons and LostReasons count errors by text.
	FailureReasons map[string]int `json:"failure_reasons,omitempty"`
	LostReasons    map[string]int `json:"lost_reasons,omitempty"`
}

// Publish describes the publishing side.
type Publish struct {
	// Published counts the messages the server accepted; Errors those it
	// did not (or whose outcome is unknown).
	Published uint64 `json:"published"`
	Errors    uint64 `json:"errors"`
	LastError string `json:"last_error,omitempty"`
	// RatePerSecond is the rate achieved over the whole publishing time.
	RatePerSecond float64 `json:"rate_per_s"`
	// MaxLagMS is the furthest behind its schedule a message was sent.
	MaxLagMS float64 `json:"max_lag_ms"`
	// CallLatency is the time Publish calls took, from send to response,
	// over the whole publishing time.
	CallLatency *Latency `json:"call_latency,omitempty"`
}

// Deliveries checks what subscribers received against what was published.
type Deliveries struct {
	// Expected is Published times the connected subscribers.
	Expected uint64 `json:"expected"`
	// Received counts every message received, duplicates included;
	// Unique each once.
	Received uint64 `json:"received"`
	Unique   uint64 `json:"unique"`
	// Missing messages never arrived (including at subscribers that were
	// lost); Duplicates arrived again; OutOfOrder arrived after a later
	// message of the same publisher.
	Missing    uint64 `json:"missing"`
	Duplicates uint64 `json:"duplicates"`
	OutOfOrder uint64 `json:"out_of_order"`
	// Foreign counts frames that were not this run's messages (another
	// run's, unexpected error frames).
	Foreign uint64 `json:"foreign"`
	// Gaps counts history-gap notices.
	Gaps uint64 `json:"gaps"`
	// WindowSeconds is the measured window; InWindow the messages received
	// during it; PerSecond their rate.
	WindowSeconds float64 `json:"window_s"`
	InWindow      uint64  `json:"in_window"`
	PerSecond     float64 `json:"per_s"`
}

// Latency is a latency distribution in milliseconds: percentiles within
// 0.4%, minimum, mean and maximum exact.
type Latency struct {
	Count  uint64  `json:"count"`
	MinMS  float64 `json:"min_ms"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p999_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// Server is what /proc said of the server process.
type Server struct {
	PID int `json:"pid"`
	// CPUSeconds is the user plus system CPU time over WindowSeconds (the
	// measured window, or the hold in idle mode); CPUCores the same as a
	// number of cores kept busy.
	WindowSeconds float64 `json:"window_s"`
	CPUSeconds    float64 `json:"cpu_s"`
	CPUCores      float64 `json:"cpu_cores"`
	// CPUSecondsPerMillion is CPU seconds per million deliveries received
	// in the window; zero when none were.
	CPUSecondsPerMillion float64 `json:"cpu_s_per_million_deliveries"`
	// Resident memory before connecting, once connected, and at the end
	// (before closing), in KiB.
	RSSBeforeKiB    int64 `json:"rss_before_kib"`
	RSSConnectedKiB int64 `json:"rss_connected_kib"`
	RSSAfterKiB     int64 `json:"rss_after_kib"`
	// KiBPerConnection is the RSS growth from before connecting to the end,
	// divided by the connections.
	KiBPerConnection float64 `json:"kib_per_connection"`
}

func newReport(cfg Config, runID string, target netip.AddrPort, sources int) *Report {
	rep := &Report{
		RunID:     runID,
		Transport: cfg.Transport,
		Mode:      "publish",
		Settings: Settings{
			Target:          target.String(),
			Topic:           cfg.Topic,
			Subscribers:     cfg.Subscribers,
			Rate:            cfg.Rate,
			Publishers:      cfg.publishers(),
			PayloadSize:     cfg.PayloadSize,
			DurationSeconds: seconds(cfg.Duration),
			WarmupSeconds:   seconds(cfg.Warmup),
			SourceAddrs:     sources,
			ConnectRate:     cfg.ConnectRate,
			SSEEnvelope:     cfg.SSEEnvelope && cfg.Transport == TransportSSE,
		},
		Connections: Connections{Requested: cfg.Subscribers},
	}
	if cfg.Idle {
		rep.Mode = "idle"
		rep.Settings.Rate, rep.Settings.Publishers = 0, 0
	}
	if cfg.ServerPID != 0 {
		rep.Server = &Server{PID: cfg.ServerPID}
	}
	return rep
}

func (rep *Report) setServerBefore(s *ProcSample) {
	if rep.Server != nil && s != nil {
		rep.Server.RSSBeforeKiB = s.RSSKiB
	}
}

func (rep *Report) setServerConnected(s *ProcSample, conns int) {
	if rep.Server != nil && s != nil {
		rep.Server.RSSConnectedKiB = s.RSSKiB
		rep.Server.RSSAfterKiB = s.RSSKiB
		rep.Server.KiBPerConnection = perConn(rep.Server.RSSBeforeKiB, s.RSSKiB, conns)
	}
}

func (rep *Report) setServerAfter(s *ProcSample, conns int) {
	if rep.Server != nil && s != nil {
		rep.Server.RSSAfterKiB = s.RSSKiB
		rep.Server.KiBPerConnection = perConn(rep.Server.RSSBeforeKiB, s.RSSKiB, conns)
	}
}

// setCPU records the CPU time of the server, the load generator and the
// machine between two samples, during which deliveries messages were
// received.
func (rep *Report) setCPU(c0, c1 cpuSample, deliveries uint64) {
	window := c1.at - c0.at
	if window <= 0 {
		return
	}
	cores := func(a, b time.Duration) float64 { return seconds(b-a) / seconds(window) }
	var used float64
	if rep.Server != nil && c0.server != nil && c1.server != nil {
		cpu := seconds(c1.server.CPU - c0.server.CPU)
		rep.Server.WindowSeconds = seconds(window)
		rep.Server.CPUSeconds = cpu
		rep.Server.CPUCores = cores(c0.server.CPU, c1.server.CPU)
		if deliveries > 0 {
			rep.Server.CPUSecondsPerMillion = cpu / (float64(deliveries) / 1e6)
		}
		used += rep.Server.CPUCores
	}
	if c0.self != nil && c1.self != nil {
		rep.LoadGen = &LoadGen{CPUSeconds: seconds(c1.self.CPU - c0.self.CPU), CPUCores: cores(c0.self.CPU, c1.self.CPU)}
		used += rep.LoadGen.CPUCores
	}
	if c0.system != nil && c1.system != nil {
		busy := cores(c0.system.Busy, c1.system.Busy)
		rep.Machine = &Machine{CPUs: c1.system.CPUs, BusyCores: busy, OtherCores: max(0, busy-used)}
	}
}

// setWindow records the measured window and the deliveries in it.
func (rep *Report) setWindow(window time.Duration, deliveries uint64) {
	if rep.Deliveries == nil {
		rep.Deliveries = &Deliveries{}
	}
	rep.Deliveries.WindowSeconds = seconds(window)
	rep.Deliveries.InWindow = deliveries
	if window > 0 {
		rep.Deliveries.PerSecond = float64(deliveries) / seconds(window)
	}
}

func perConn(before, after int64, conns int) float64 {
	if conns <= 0 || before <= 0 {
		return 0
	}
	return float64(after-before) / float64(conns)
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fillConnections copies the connection counters into the report.
func (r *runner) fillConnections() {
	c := &r.rep.Connections
	c.Attempted = len(r.subs)
	c.Connected = int(r.connected.Load())
	c.Failed = r.failures.count()
	c.Lost = r.losses.count()
	c.FailureReasons = r.failures.snapshot()
	c.LostReasons = r.losses.snapshot()
	c.Heartbeats = 0
	for _, s := range r.subs {
		c.Heartbeats += s.heartbeats.Load()
	}
}

// fillDeliveries checks every subscriber's sequences against what was
// published. It runs after every reader ended.
func (r *runner) fillDeliveries() {
	pub := &Publish{}
	attempted := make([]uint64, r.state.numPublishers)
	failed := make([][]uint64, r.state.numPublishers)
	var lag time.Duration
	for _, p := range r.pubs {
		attempted[p.id] = p.attempted.Load()
		failed[p.id] = p.failed
		pub.Published += p.ok.Load()
		pub.Errors += uint64(len(p.failed))
		if p.lastErr != nil {
			pub.LastError = p.lastErr.Error()
		}
		lag = max(lag, p.maxLag)
	}
	pub.MaxLagMS = millis(lag)
	if r.publishSpan > 0 {
		pub.RatePerSecond = float64(pub.Published) / seconds(r.publishSpan)
	}
	r.rep.Publish = pub

	d := r.rep.Deliveries
	if d == nil {
		d = &Deliveries{}
		r.rep.Deliveries = d
	}
	d.Expected = pub.Published * uint64(r.connected.Load())
	for _, s := range r.subs {
		if !s.opened {
			continue
		}
		missing, _ := s.tracker.missing(attempted, failed)
		d.Missing += missing
		d.Received += s.received.Load()
		d.Unique += s.unique.Load()
		d.Duplicates += s.tracker.duplicates
		d.OutOfOrder += s.tracker.outOfOrder
		d.Foreign += s.foreign
		d.Gaps += s.gaps
	}

	r.rep.Latency = latencyOf(&r.state.latency)
	pub.CallLatency = latencyOf(&r.state.publishLatency)
}

// latencyOf summarises h, nil when empty.
func latencyOf(h *Histogram) *Latency {
	if h.Count() == 0 {
		return nil
	}
	return &Latency{
		Count:  h.Count(),
		MinMS:  millis(h.Min()),
		MeanMS: millis(h.Mean()),
		P50MS:  millis(h.Percentile(0.50)),
		P90MS:  millis(h.Percentile(0.90)),
		P99MS:  millis(h.Percentile(0.99)),
		P999MS: millis(h.Percentile(0.999)),
		MaxMS:  millis(h.Max()),
	}
}
