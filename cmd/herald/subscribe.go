package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/heraldhq/herald/client"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

type subscribeFlags struct {
	conn        connFlags
	topics      []string
	lastEventID string
	format      string
}

func newSubscribeCommand(f *subscribeFlags) *command {
	c := newCommand("subscribe", "herald subscribe [flags]",
		`Print the messages of one or more topics as they arrive, until SIGINT.
With --format text each message is one line "<id> <topic> <data>"; data is
printed as is, or as a quoted Go string when it holds line breaks, other
control characters or invalid UTF-8. With --format json each message is
one JSON object per line (protojson, proto field names, data in base64).
When the connection drops, the command reconnects with backoff and resumes
after the last message it printed; reconnects and history gaps are reported
on stderr.`,
		`herald subscribe --topic orders.created --topic 'orders.*.paid'`,
		`herald subscribe --server herald:9090 --topic 'chat.>' --format json`,
		`herald subscribe --topic jobs --last-event-id mh3k2a9z-42`,
	)
	f.conn.define(c)
	c.List(&f.topics, "topic", "TOPIC", "Topic or pattern (* one token, > the rest) to receive; repeatable or comma-separated. At least one is required.")
	c.String(&f.lastEventID, "last-event-id", "ID", "", "Start after this message id: first replay what the server retains after it.")
	c.Enum(&f.format, "format", []string{"text", "json"}, "text", "Output format of messages.")
	return c
}

// runSubscribe prints messages until ctx ends or the subscription fails
// for good.
func runSubscribe(ctx context.Context, args []string, e env) int {
	var f subscribeFlags
	rest, code, ok := parseFlags(newSubscribeCommand(&f), args, e)
	if !ok {
		return code
	}
	if len(f.topics) == 0 {
		return usageError(e, "subscribe", "at least one --topic is required")
	}
	if len(rest) > 0 {
		return usageError(e, "subscribe", "unexpected argument %q (topics go in --topic)", rest[0])
	}

	conn, err := f.conn.dial()
	if err != nil {
		return failure(e, "subscribe", err)
	}
	defer conn.Close()
	sub := client.New(conn, f.conn.clientOptions()...).Subscribe(ctx, f.topics, client.WithLastEventID(f.lastEventID))
	defer sub.Close()

	marshal := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return exitOK // interrupted
			}
			return failure(e, "subscribe", describe(err))
		}
		switch ev.Kind {
		case client.KindMessage:
			var line []byte
			if f.format == "json" {
				if line, err = marshal.Marshal(ev.Message); err != nil {
					return failure(e, "subscribe", err)
				}
			} else {
				line = []byte(textLine(ev.Message))
			}
			if _, err := e.stdout.Write(append(line, '\n')); err != nil {
				return failure(e, "subscribe", err)
			}
		case client.KindConnected:
			fmt.Fprintf(e.stderr, "herald subscribe: subscribed to %s at %s\n",
				strings.Join(ev.Subscribed.GetTopics(), ", "), f.conn.server)
		case client.KindReconnecting:
			fmt.Fprintf(e.stderr, "herald subscribe: stream lost (%v); reconnecting in %v (attempt %d)\n",
				describe(ev.Err), ev.Delay.Round(1e6), ev.Attempt)
		case client.KindGap:
			fmt.Fprintf(e.stderr, "herald subscribe: gap: messages of %s after %s may be missing (%s); continuing from %s\n",
				strings.Join(ev.Gap.GetTopics(), ", "), orNone(ev.Gap.GetRequestedId()),
				gapReason(ev.Gap.GetReason()), orNone(ev.Gap.GetFirstAvailableId()))
		}
	}
}

// textLine formats a message as "<id> <topic> <data>".
func textLine(m *heraldv1.Message) string {
	return m.GetId() + " " + m.GetTopic() + " " + printable(m.GetData())
}

// printable returns data as is when it is one line of UTF-8 text without
// control characters, and as a quoted Go string otherwise.
func printable(data []byte) string {
	if !utf8.Valid(data) {
		return strconv.Quote(string(data))
	}
	for _, r := range string(data) {
		if unicode.IsControl(r) && r != '\t' {
			return strconv.Quote(string(data))
		}
	}
	return string(data)
}

func gapReason(r heraldv1.HistoryGap_Reason) string {
	switch r {
	case heraldv1.HistoryGap_REASON_EPOCH_CHANGED:
		return "the server restarted and lost its history"
	default:
		return "older messages are no longer retained"
	}
}

func orNone(id string) string {
	if id == "" {
		return "(none)"
	}
	return id
}
