package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
)

// heartbeat is the nodes' heartbeat interval: short, so that dead
// connections are noticed quickly, long enough for a busy machine.
const heartbeat = time.Second

// startNode starts an open node whose HTTP API listens on httpAddr and
// stops it when the test ends.
func startNode(t *testing.T, httpAddr string) *app.Node {
	t.Helper()
	return startNodeWith(t, httpAddr, auth.Config{})
}

// startNodeWith starts a node that accepts the credentials of access, as
// startNode does.
func startNodeWith(t *testing.T, httpAddr string, access auth.Config) *app.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	n, err := app.Start(ctx, app.Config{
		GRPCAddr:          "127.0.0.1:0",
		HTTPAddr:          httpAddr,
		HeartbeatInterval: heartbeat,
		ShutdownTimeout:   5 * time.Second,
		Auth:              access,
	})
	if err != nil {
		t.Fatalf("starting a node on %s: %v", httpAddr, err)
	}
	t.Cleanup(func() { stopNode(t, n) })
	return n
}

// stopNode shuts a node down; later calls do nothing.
func stopNode(t *testing.T, n *app.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("node shutdown: %v", err)
	}
}

func baseURL(n *app.Node) string { return "http://" + n.HTTPAddr().String() }

// published is a message the test published, as the node answered.
type published struct {
	ID          string `json:"id"`
	PublishTime string `json:"publish_time"`
}

// publish publishes body to topic through the raw HTTP route of an open
// node.
func publish(t *testing.T, base, topic, contentType, event string, body []byte) published {
	t.Helper()
	return publishAs(t, base, "", topic, contentType, event, body)
}

// publishAs publishes as publish does, presenting token ("" for none).
func publishAs(t *testing.T, base, token, topic, contentType, event string, body []byte) published {
	t.Helper()
	u := base + "/v1/topics/" + url.PathEscape(topic)
	if event != "" {
		u += "?event=" + url.QueryEscape(event)
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("publishing to %s: %v", topic, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("publishing to %s: %s: %s", topic, res.Status, b)
	}
	var p published
	if err := json.Unmarshal(b, &p); err != nil || p.ID == "" {
		t.Fatalf("publish response %s: %v", b, err)
	}
	return p
}

// transports runs f for each transport, once a browser is known to exist.
func transports(t *testing.T, f func(t *testing.T, transport string)) {
	findBrowser(t)
	for _, tr := range []string{"sse", "ws"} {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

// (a) herald.js receives what Go publishes, over both transports, exactly
// as published: ids, topics, text and binary payloads, content types,
// event names.
func TestBrowserReceives(t *testing.T) {
	transports(t, func(t *testing.T, transport string) {
		node := startNode(t, "127.0.0.1:0")
		base := baseURL(node)
		tb := newTab(t, newGate(t, node.HTTPAddr().String()).URL()+"/")
		tb.quietDemo()
		tb.startClient("c", map[string]any{
			"topics": []string{"e2e.>"}, "transport": transport,
		})
		tb.waitEvent("c", "open", 1)

		sent := []struct {
			topic, contentType, event string
			body                      []byte
		}{
			{"e2e.a", "text/plain; charset=utf-8", "", []byte("hello from Go")},
			{"e2e.b.c", "application/json", "", []byte(`{"x":1,"s":"é"}`)},
			{"e2e.a", "text/plain", "greeting", []byte("line 1\nline 2\r\nline 3")},
			{"e2e.bin", "application/octet-stream", "", []byte{0xff, 0x00, 0xfe}},
		}
		var ids []string
		for _, m := range sent {
			ids = append(ids, publish(t, base, m.topic, m.contentType, m.event, m.body).ID)
		}
		publish(t, base, "other", "text/plain", "", []byte("not subscribed"))
		tb.waitEvent("c", "message:"+ids[len(ids)-1], 1)

		msgs := only(tb.events("c"), "message")
		if len(msgs) != len(sent) {
			t.Fatalf("%d messages, want %d: %s", len(msgs), len(sent), seqString(sequence(msgs)))
		}
		for i, m := range msgs {
			want := sent[i]
			if *m.ID != ids[i] || m.Topic != want.topic || m.ContentType != want.contentType || m.Event != want.event {
				t.Errorf("message %d: %+v, want id %s topic %s content type %q event %q",
					i, m, ids[i], want.topic, want.contentType, want.event)
			}
			if _, err := time.Parse(time.RFC3339Nano, m.PublishTime); err != nil {
				t.Errorf("message %d: publish time %q: %v", i, m.PublishTime, err)
			}
		}
		for i := range 3 {
			// Line breaks arrive as published: the envelope is JSON.
			if msgs[i].Data != string(sent[i].body) || msgs[i].DataBase64 != nil {
				t.Errorf("message %d: data %q, want %q", i, msgs[i].Data, sent[i].body)
			}
		}
		if b := msgs[3].DataBase64; b == nil || *b != "/wD+" || msgs[3].Data != "" {
			t.Errorf("binary message: %+v, want data_base64 /wD+", msgs[3])
		}
		if id := eval[string](tb, client("c")+".h.lastEventId"); id != ids[len(ids)-1] {
			t.Errorf("lastEventId %q, want %q", id, ids[len(ids)-1])
		}
		if o := only(tb.events("c"), "open")[0]; o.HeartbeatInterval != float64(heartbeat.Milliseconds()) ||
			o.Transport != transport || !slices.Equal(o.Topics, []string{"e2e.>"}) {
			t.Errorf("open %+v", o)
		}
	})
}

// (b) Across a node restart on the same address: the browser holds an id of
// the old node, messages are published on the new node before it reconnects,
// and once it does, its old id resumes into the new history: a gap (the
// epoch changed), then every message of the new node, none lost, none
// repeated.
func TestBrowserResumesAcrossRestart(t *testing.T) {
	transports(t, func(t *testing.T, transport string) {
		node1 := startNode(t, "127.0.0.1:0")
		addr := node1.HTTPAddr().String()
		g := newGate(t, addr)
		tb := newTab(t, g.URL()+"/")
		tb.quietDemo()
		tb.startClient("c", map[string]any{
			"topics": []string{"restart"}, "transport": transport,
			"backoff": map[string]any{"initial": 100, "max": 500},
		})
		tb.waitEvent("c", "open", 1)
		before := []string{
			publish(t, baseURL(node1), "restart", "text/plain", "", []byte("before 1")).ID,
			publish(t, baseURL(node1), "restart", "text/plain", "", []byte("before 2")).ID,
		}
		tb.waitEvent("c", "message:"+before[1], 1)
		start := len(tb.events("c"))

		// The node goes; the browser's next connection waits at the gate.
		g.hold()
		stopNode(t, node1)
		tb.waitEvent("c", "state:reconnecting", 1)
		waitGo(t, "the browser to reconnect", func() bool { return g.waiting() > 0 })

		node2 := startNode(t, addr)
		var after []string
		for i := range 3 {
			after = append(after, publish(t, baseURL(node2), "restart", "text/plain", "",
				fmt.Appendf(nil, "after %d", i+1)).ID)
		}
		g.release()
		tb.waitEvent("c", "message:"+after[2], 1)

		ev := tb.events("c")
		want := []string{"close:going_away", "state:reconnecting", "state:open", "open", "gap"}
		for _, id := range after {
			want = append(want, "message:"+id)
		}
		if got := sequence(ev[start:]); !slices.Equal(got, want) {
			t.Errorf("events from the shutdown on\n got %s\nwant %s", seqString(got), seqString(want))
		}
		var ids []string
		for _, m := range only(ev, "message") {
			ids = append(ids, *m.ID)
		}
		if all := append(slices.Clone(before), after...); !slices.Equal(ids, all) {
			t.Errorf("message ids %q, want %q", ids, all)
		}
		gaps := only(ev, "gap")
		if len(gaps) != 1 || gaps[0].Reason != "REASON_EPOCH_CHANGED" || gaps[0].RequestedID != before[1] ||
			!slices.Equal(gaps[0].Topics, []string{"restart"}) {
			t.Errorf("gaps %+v, want one REASON_EPOCH_CHANGED after %s", gaps, before[1])
		}
		if id := eval[string](tb, client("c")+".h.lastEventId"); id != after[2] {
			t.Errorf("lastEventId %q, want %q", id, after[2])
		}
	})
}

// quietDemo closes the demo page's own client, so that the test's client
// is the only one in the page.
func (tb *tab) quietDemo() {
	tb.t.Helper()
	tb.waitFor(`window.herald !== undefined`, `'no client in the demo page'`)
	eval[any](tb, `window.herald.close()`)
}

// waitGo polls a condition on the Go side.
func waitGo(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(pollInterval)
	}
}
