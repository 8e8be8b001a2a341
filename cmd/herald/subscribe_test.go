package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/client"
)

// subscribeCmd is `herald subscribe` running in the background.
type subscribeCmd struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func startSubscribe(t *testing.T, args ...string) *subscribeCmd {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &subscribeCmd{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- execute(ctx, append([]string{"subscribe"}, args...), testEnv(nil, "", s.stdout, s.stderr))
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// stop interrupts the command and returns its exit code.
func (s *subscribeCmd) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code // for the cleanup
		return code
	case <-time.After(20 * time.Second):
		t.Fatal("subscribe did not stop")
		return -1
	}
}

// lines returns the complete lines written to stdout so far.
func (s *subscribeCmd) lines() []string {
	out := s.stdout.String()
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		return strings.Split(out[:i], "\n")
	}
	return nil
}

func (s *subscribeCmd) waitLines(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, 20*time.Second, "output lines", func() bool { return len(s.lines()) >= n })
	return s.lines()
}

func (s *subscribeCmd) waitStderr(t *testing.T, substr string) {
	t.Helper()
	waitFor(t, 20*time.Second, "stderr "+substr, func() bool { return strings.Contains(s.stderr.String(), substr) })
}

func TestSubscribeCommandText(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	addr := n.GRPCAddr().String()
	c := testClient(t, addr)
	s := startSubscribe(t, "--server", addr, "--topic", "a.*", "--topic", "b")
	s.waitStderr(t, "subscribed to a.*, b at "+addr)

	var ids []string
	for _, m := range []struct{ topic, data string }{{"a.x", "hello world"}, {"b", "two\nlines"}, {"c", "not subscribed"}, {"a.y", "last"}} {
		res, err := c.Publish(t.Context(), m.topic, []byte(m.data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.GetId())
	}
	want := []string{
		ids[0] + " a.x hello world",
		ids[1] + ` b "two\nlines"`,
		ids[3] + " a.y last",
	}
	got := s.waitLines(t, 3)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("interrupted subscribe exited %d", code)
	}
}

func TestSubscribeCommandJSONAndLastEventID(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	addr := n.GRPCAddr().String()
	c := testClient(t, addr)
	first, err := c.Publish(t.Context(), "j", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Publish(t.Context(), "j", []byte("two"), client.WithContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	// Resuming after the first message replays the second.
	s := startSubscribe(t, "--server", addr, "--topic", "j", "--format", "json", "--last-event-id", first.GetId())
	line := s.waitLines(t, 1)[0]
	var m struct {
		Topic       string `json:"topic"`
		ID          string `json:"id"`
		Data        []byte `json:"data"`
		ContentType string `json:"content_type"`
		PublishTime string `json:"publish_time"`
	}
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	if m.ID != second.GetId() || m.Topic != "j" || string(m.Data) != "two" || m.ContentType != "text/plain" || m.PublishTime == "" {
		t.Fatalf("json line %q", line)
	}
}

func TestSubscribeCommandResumesAcrossRestart(t *testing.T) {
	t.Parallel()
	cfg := testNodeConfig(t)
	n := startNode(t, cfg)
	addr := n.GRPCAddr().String()
	s := startSubscribe(t, "--server", addr, "--topic", "r")
	s.waitStderr(t, "subscribed to r")
	before, err := testClient(t, addr).Publish(t.Context(), "r", []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	s.waitLines(t, 1)

	shutdown(t, n)
	s.waitStderr(t, "stream lost (Unavailable: ")
	cfg.GRPCAddr, cfg.HTTPAddr = addr, n.HTTPAddr().String()
	startNode(t, cfg)
	waitFor(t, 20*time.Second, "a second subscription", func() bool {
		return strings.Count(s.stderr.String(), "subscribed to r") == 2
	})
	after, err := testClient(t, addr).Publish(t.Context(), "r", []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	got := s.waitLines(t, 2)
	if got[0] != before.GetId()+" r before" || got[1] != after.GetId()+" r after" {
		t.Fatalf("output %q", got)
	}
	s.waitStderr(t, "gap: messages of r after "+before.GetId()+" may be missing (the server restarted")
}

func TestSubscribeCommandStopsOnFinalError(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	r := run(t, t.Context(), nil, "", "subscribe", "--server", n.GRPCAddr().String(), "--topic", "a..b")
	if r.code != exitFailure || !strings.Contains(r.stderr, "herald subscribe: InvalidArgument: ") {
		t.Fatalf("bad topic: code %d, stderr %q", r.code, r.stderr)
	}
}
