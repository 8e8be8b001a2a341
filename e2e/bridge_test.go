package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
)

// startBridge starts a bridge in front of the node at upstream (its gRPC
// address) whose HTTP side listens on httpAddr, and stops it when the test
// ends.
func startBridge(t *testing.T, upstream, httpAddr string) *app.Bridge {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	b, err := app.StartBridge(ctx, app.BridgeConfig{
		Upstream:          upstream,
		HTTPAddr:          httpAddr,
		HeartbeatInterval: heartbeat,
		ShutdownTimeout:   5 * time.Second,
	})
	if err != nil {
		t.Fatalf("starting a bridge on %s: %v", httpAddr, err)
	}
	t.Cleanup(func() { stopBridge(t, b) })
	return b
}

// stopBridge shuts a bridge down; later calls do nothing.
func stopBridge(t *testing.T, b *app.Bridge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Errorf("bridge shutdown: %v", err)
	}
}

// metric returns the line of a bridge's /metrics that starts with name
// (with its labels), or "" when there is none.
func metric(t *testing.T, b *app.Bridge, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + b.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// (d) Browsers on a bridge, across a restart of the bridge: both of a
// page's clients hold an id of the core, messages are published on the
// core before they reconnect, and once they do, on a new bridge at the
// same address, they resume from it: every message, none lost, none
// repeated, and no gap, since the core's history goes on. The new bridge
// serves them from one shared upstream stream once they have caught up.
func TestBrowserResumesAcrossBridgeRestart(t *testing.T) {
	transports(t, func(t *testing.T, transport string) {
		core := startNode(t, "127.0.0.1:0")
		bridge1 := startBridge(t, core.GRPCAddr().String(), "127.0.0.1:0")
		addr := bridge1.HTTPAddr().String()
		g := newGate(t, addr)
		tb := newTab(t, g.URL()+"/")
		tb.quietDemo()
		clients := []string{"c1", "c2"}
		for _, c := range clients {
			tb.startClient(c, map[string]any{
				"topics": []string{"bridged"}, "transport": transport,
				"backoff": map[string]any{"initial": 100, "max": 500},
			})
			tb.waitEvent(c, "open", 1)
		}
		publishCore := func(data string) string {
			return publish(t, baseURL(core), "bridged", "text/plain", "", []byte(data)).ID
		}
		before := []string{publishCore("before 1"), publishCore("before 2")}
		starts := map[string]int{}
		for _, c := range clients {
			tb.waitEvent(c, "message:"+before[1], 1)
			starts[c] = len(tb.events(c))
		}

		// The bridge goes; the browsers' next connections wait at the gate.
		g.hold()
		stopBridge(t, bridge1)
		for _, c := range clients {
			tb.waitEvent(c, "state:reconnecting", 1)
		}
		// (A browser opens one WebSocket to a host at a time, so the second
		// client's attempt may wait in the browser rather than at the gate.)
		waitGo(t, "the clients to reconnect", func() bool { return g.waiting() > 0 })

		var after []string
		for i := range 3 {
			after = append(after, publishCore(fmt.Sprintf("after %d", i+1)))
		}
		bridge2 := startBridge(t, core.GRPCAddr().String(), addr)
		g.release()
		for _, c := range clients {
			tb.waitEvent(c, "message:"+after[2], 1)
		}
		// One more, through the shared stream for both.
		last := publishCore("last")
		after = append(after, last)
		for _, c := range clients {
			tb.waitEvent(c, "message:"+last, 1)
		}

		for _, c := range clients {
			ev := tb.events(c)
			want := []string{"close:going_away", "state:reconnecting", "state:open", "open"}
			for _, id := range after {
				want = append(want, "message:"+id)
			}
			if got := sequence(ev[starts[c]:]); !slices.Equal(got, want) {
				t.Errorf("%s: events from the shutdown on\n got %s\nwant %s", c, seqString(got), seqString(want))
			}
			var ids []string
			for _, m := range only(ev, "message") {
				ids = append(ids, *m.ID)
			}
			if all := append(slices.Clone(before), after...); !slices.Equal(ids, all) {
				t.Errorf("%s: message ids %q, want %q", c, ids, all)
			}
		}
		waitGo(t, "the new bridge to read one shared upstream stream and no catch-up stream", func() bool {
			return metric(t, bridge2, `herald_upstream_streams{kind="shared"}`) == `herald_upstream_streams{kind="shared"} 1` &&
				metric(t, bridge2, `herald_upstream_streams{kind="catch_up"}`) == `herald_upstream_streams{kind="catch_up"} 0`
		})
	})
}
