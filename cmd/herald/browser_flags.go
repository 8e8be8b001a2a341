package main

import (
	"time"

	"github.com/heraldhq/herald/app"
)

// browserFlags are the settings of the browser transports, shared by
// `herald serve` and `herald bridge`.
type browserFlags struct {
	coalesceWindow time.Duration // 0 turns coalescing off
	writeTimeout   time.Duration
	sseRetry       time.Duration
	wsReadLimit    int
}

// define adds the flags to c with the defaults of d.
func (f *browserFlags) define(c *command, d app.BrowserConfig) {
	c.DurationOrZero(&f.coalesceWindow, "coalesce-window", d.CoalesceWindow,
		"SSE and WebSocket: how long a busy connection's messages wait for more to join them in one write: less CPU per delivered message, at most this much more latency (0: off, every frame written at once).")
	c.Duration(&f.writeTimeout, "write-timeout", d.WriteTimeout,
		"SSE, WebSocket and gRPC Subscribe streams: a subscriber that does not take a write within this time is disconnected as a slow consumer (it resumes from its last id).")
	c.Duration(&f.sseRetry, "sse-retry", d.SSERetry,
		"SSE: the reconnect delay suggested to EventSource (the retry: field).")
	c.Int(&f.wsReadLimit, "ws-read-limit", "BYTES", int(d.WSReadLimit),
		"WebSocket: largest frame a client may send; a larger one closes the connection (1009).")
}

// config is the app configuration the flags describe.
func (f *browserFlags) config() app.BrowserConfig {
	b := app.BrowserConfig{
		CoalesceWindow: f.coalesceWindow,
		WriteTimeout:   f.writeTimeout,
		SSERetry:       f.sseRetry,
		WSReadLimit:    int64(f.wsReadLimit),
	}
	if b.CoalesceWindow == 0 {
		b.CoalesceWindow = -1 // off; zero would mean the default
	}
	return b
}
