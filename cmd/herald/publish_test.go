package main

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/client"
)

func TestPublishCommand(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	addr := n.GRPCAddr().String()
	c := testClient(t, addr)
	sub := c.Subscribe(t.Context(), []string{"cli.>"})
	defer sub.Close()
	waitConnected(t, sub)

	// DATA from the argument, options from flags, the server from the
	// environment.
	r := run(t, t.Context(), map[string]string{"HERALD_SERVER": addr}, "",
		"publish", "--topic", "cli.a", "--content-type", "application/json", "--event", "made",
		"--idempotency-key", "k1", `{"n":1}`)
	if r.code != exitOK {
		t.Fatalf("publish: code %d, stderr %q", r.code, r.stderr)
	}
	fields := strings.Fields(r.stdout)
	if len(fields) != 2 {
		t.Fatalf("publish printed %q, want \"<id> <time>\"", r.stdout)
	}
	if _, err := time.Parse(time.RFC3339Nano, fields[1]); err != nil {
		t.Fatalf("publish time %q: %v", fields[1], err)
	}
	m := nextMessage(t, sub).Message
	if m.GetId() != fields[0] || m.GetTopic() != "cli.a" || string(m.GetData()) != `{"n":1}` ||
		m.GetContentType() != "application/json" || m.GetEvent() != "made" {
		t.Fatalf("subscriber got %v, publish printed %q", m, r.stdout)
	}

	// The same idempotency key again: the first id, marked duplicate.
	again := run(t, t.Context(), nil, "", "publish", "--server", addr, "--topic", "cli.a",
		"--idempotency-key", "k1", `{"n":1}`)
	if again.code != exitOK || !strings.HasPrefix(again.stdout, fields[0]+" ") ||
		!strings.HasSuffix(again.stdout, " duplicate\n") {
		t.Fatalf("duplicate publish: code %d, stdout %q", again.code, again.stdout)
	}

	// DATA from stdin, with and without "-".
	for _, args := range [][]string{{"-"}, nil} {
		r := run(t, t.Context(), nil, "line one\nline two\n",
			append([]string{"publish", "--server", addr, "--topic", "cli.b"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("publish from stdin %v: code %d, stderr %q", args, r.code, r.stderr)
		}
		if m := nextMessage(t, sub).Message; string(m.GetData()) != "line one\nline two\n" {
			t.Fatalf("stdin payload arrived as %q", m.GetData())
		}
	}
}

func TestPublishCommandReportsServerErrors(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	r := run(t, t.Context(), nil, "", "publish", "--server", n.GRPCAddr().String(), "--topic", "no spaces", "x")
	if r.code != exitFailure || !strings.Contains(r.stderr, "herald publish: InvalidArgument: ") {
		t.Fatalf("bad topic: code %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q after a failure", r.stdout)
	}
}

func TestPublishCommandWithoutServer(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	shutdown(t, n) // nothing listens there any more
	r := run(t, t.Context(), nil, "", "publish", "--server", n.GRPCAddr().String(), "--topic", "t", "--timeout", "5s", "x")
	if r.code != exitFailure || !strings.Contains(r.stderr, "Unavailable") {
		t.Fatalf("no server: code %d, stderr %q", r.code, r.stderr)
	}
}

// waitConnected waits for the subscription's first stream.
func waitConnected(t *testing.T, sub *client.Subscription) {
	t.Helper()
	ev, err := sub.Next(t.Context())
	if err != nil || ev.Kind != client.KindConnected {
		t.Fatalf("first event %v, %v; want connected", ev.Kind, err)
	}
}
