package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/heraldhq/herald/client"
)

// maxStdinData bounds what publish reads from stdin, well above any
// server's message size limit, so that a mistaken pipe cannot exhaust
// memory.
const maxStdinData = 64 << 20

type publishFlags struct {
	conn           connFlags
	topic          string
	contentType    string
	event          string
	idempotencyKey string
	timeout        time.Duration
}

func newPublishCommand(f *publishFlags) *command {
	c := newCommand("publish", "herald publish [flags] [DATA]",
		`Publish one message. DATA is the payload; without it, or when it is "-",
the payload is read from stdin. Prints the message id and publish time
(RFC 3339), separated by a space, and "duplicate" when the idempotency key
matched an earlier message.`,
		`herald publish --topic orders.created '{"id":1}'`,
		`echo hello | herald publish --server herald:9090 --topic chat.room1 --content-type text/plain`,
		`HERALD_SERVER=herald:9090 herald publish --topic jobs --idempotency-key job-42 < job.json`,
	)
	f.conn.define(c)
	c.String(&f.topic, "topic", "TOPIC", "", "Topic to publish to. Required.")
	c.String(&f.contentType, "content-type", "TYPE", "", "Media type of the payload, such as application/json.")
	c.String(&f.event, "event", "NAME", "", "Event name that subscribers can dispatch on.")
	c.String(&f.idempotencyKey, "idempotency-key", "KEY", "", "Makes retries safe: a second publish with this key is not delivered again.")
	c.Duration(&f.timeout, "timeout", 10*time.Second, "Bound on the whole call.")
	return c
}

// runPublish publishes one message.
func runPublish(ctx context.Context, args []string, e env) int {
	var f publishFlags
	rest, code, ok := parseFlags(newPublishCommand(&f), args, e)
	if !ok {
		return code
	}
	if f.topic == "" {
		return usageError(e, "publish", "--topic is required")
	}
	if len(rest) > 1 {
		return usageError(e, "publish", "expected at most one DATA argument, got %d (quote the payload)", len(rest))
	}
	var data []byte
	if len(rest) == 1 && rest[0] != "-" {
		data = []byte(rest[0])
	} else {
		var err error
		if data, err = io.ReadAll(io.LimitReader(e.stdin, maxStdinData+1)); err != nil {
			return failure(e, "publish", fmt.Errorf("reading stdin: %w", err))
		}
		if len(data) > maxStdinData {
			return failure(e, "publish", fmt.Errorf("stdin holds more than %d bytes", maxStdinData))
		}
	}

	conn, err := f.conn.dial()
	if err != nil {
		return failure(e, "publish", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	res, err := client.New(conn, f.conn.clientOptions()...).Publish(ctx, f.topic, data,
		client.WithContentType(f.contentType),
		client.WithEvent(f.event),
		client.WithIdempotencyKey(f.idempotencyKey))
	if err != nil {
		return failure(e, "publish", describe(err))
	}
	line := res.GetId() + " " + res.GetPublishTime().AsTime().Format(time.RFC3339Nano)
	if res.GetDuplicate() {
		line += " duplicate"
	}
	if _, err := fmt.Fprintln(e.stdout, line); err != nil {
		return failure(e, "publish", err)
	}
	return exitOK
}
