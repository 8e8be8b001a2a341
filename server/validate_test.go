package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

func TestParseSubscribe(t *testing.T) {
	sub, r := parseSubscribe(&heraldv1.SubscribeRequest{
		Topics:      []string{"a.*", "b", "a.*", "c.>", "b"},
		LastEventId: "a-7",
	})
	if r != nil {
		t.Fatal(r.err)
	}
	if got := strings.Join(sub.names, " "); got != "a.* b c.>" {
		t.Errorf("names = %q", got)
	}
	if len(sub.patterns) != 3 || sub.patterns[2].String() != "c.>" {
		t.Errorf("patterns = %v", sub.patterns)
	}
	if sub.after != (engine.ID{Epoch: 10, Seq: 7}) {
		t.Errorf("after = %+v", sub.after)
	}
}

func TestQuoteIDTruncates(t *testing.T) {
	long := strings.Repeat("z", 10000)
	_, r := parseSubscribe(&heraldv1.SubscribeRequest{Topics: []string{"a"}, LastEventId: long})
	if r == nil {
		t.Fatal("accepted a 10000-byte id")
	}
	if n := len(status.Convert(r.err).Message()); n > 200 {
		t.Errorf("error message is %d bytes; a client's id must not bloat it", n)
	}
}

func TestErrorStatus(t *testing.T) {
	var logs logBuffer
	log := logs.logger()
	ctx := context.Background()
	tests := []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("wrapped: %w", engine.ErrClosed), codes.Unavailable},
		{engine.ErrSlowConsumer, codes.ResourceExhausted},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{errors.New("disk on fire at /var/secret"), codes.Internal},
	}
	for _, tt := range tests {
		got := status.Convert(errorStatus(ctx, log, "/m", tt.err))
		if got.Code() != tt.code {
			t.Errorf("errorStatus(%v) = %v, want %v", tt.err, got.Code(), tt.code)
		}
		if strings.Contains(got.Message(), "secret") || strings.Contains(got.Message(), "engine:") {
			t.Errorf("errorStatus(%v) leaks internal text: %q", tt.err, got.Message())
		}
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("the internal error was not logged: %s", logs.String())
	}
}

func TestStreamEndStatus(t *testing.T) {
	for _, tt := range []struct {
		cause error
		code  codes.Code
		msg   string
	}{
		{errShuttingDown, codes.Unavailable, msgShuttingDown},
		{errWriteStalled, codes.ResourceExhausted, msgWriteStalled},
		{context.Canceled, codes.Canceled, msgCanceled},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(tt.cause)
		got := status.Convert(streamEndStatus(ctx))
		if got.Code() != tt.code || got.Message() != tt.msg {
			t.Errorf("cause %v: got %v %q, want %v %q", tt.cause, got.Code(), got.Message(), tt.code, tt.msg)
		}
	}
}

func TestCodeLevel(t *testing.T) {
	for _, tt := range []struct {
		code   codes.Code
		stream bool
		want   slog.Level
	}{
		{codes.OK, false, slog.LevelDebug},
		{codes.OK, true, slog.LevelInfo},
		{codes.Canceled, true, slog.LevelInfo},
		{codes.InvalidArgument, false, slog.LevelInfo},
		{codes.ResourceExhausted, true, slog.LevelWarn},
		{codes.Unavailable, true, slog.LevelWarn},
		{codes.Internal, false, slog.LevelError},
		{codes.Unknown, true, slog.LevelError},
	} {
		if got := codeLevel(tt.code, tt.stream); got != tt.want {
			t.Errorf("codeLevel(%v, %v) = %v, want %v", tt.code, tt.stream, got, tt.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.HeartbeatInterval != 15e9 || c.MaxMessageSize != 1<<20 || c.ShutdownTimeout != 10e9 ||
		c.WriteTimeout != c.HeartbeatInterval || c.Logger == nil || c.Metrics == nil || c.Keepalive != DefaultKeepalive() {
		t.Errorf("defaults = %+v", c)
	}
	c = Config{HeartbeatInterval: 3e9, WriteTimeout: 0}.withDefaults()
	if c.WriteTimeout != 3e9 {
		t.Errorf("WriteTimeout = %v, want the heartbeat interval", c.WriteTimeout)
	}
}

func TestGapReason(t *testing.T) {
	if gapReason(engine.GapTruncated) != heraldv1.HistoryGap_REASON_TRUNCATED ||
		gapReason(engine.GapEpochChanged) != heraldv1.HistoryGap_REASON_EPOCH_CHANGED ||
		gapReason(0) != heraldv1.HistoryGap_REASON_UNSPECIFIED {
		t.Error("gap reasons map wrongly")
	}
}

// FuzzPublishFields checks that whatever validation accepts is safe on
// every transport: no CR or LF in an event name (SSE field injection), no
// control character in a content type, printable ASCII keys.
func FuzzPublishFields(f *testing.F) {
	for _, s := range []string{"", "a", "order:created", "a\nb", "a\rb", "text/plain; charset=utf-8", "é", "\x7f", "\u0085", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req := &heraldv1.PublishRequest{Topic: "t", Event: s}
		if validatePublish(req, 1<<20) == nil && strings.ContainsAny(s, "\r\n \t\x00") {
			t.Errorf("event %q accepted", s)
		}
		req = &heraldv1.PublishRequest{Topic: "t", ContentType: s}
		if validatePublish(req, 1<<20) == nil {
			if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Errorf("content type %q accepted", s)
			}
		}
		req = &heraldv1.PublishRequest{Topic: "t", IdempotencyKey: s}
		if validatePublish(req, 1<<20) == nil {
			for i := 0; i < len(s); i++ {
				if s[i] < 0x20 || s[i] > 0x7e {
					t.Errorf("key %q accepted", s)
				}
			}
		}
	})
}
