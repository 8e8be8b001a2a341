package subreq

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

func TestParseDeduplicatesInOrder(t *testing.T) {
	req, err := Parse([]string{"a.*", "b", "a.*", "c.>", "b"}, "a-7")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(req.Names, " "); got != "a.* b c.>" {
		t.Errorf("names = %q", got)
	}
	if len(req.Patterns) != 3 || req.Patterns[2].String() != "c.>" || !req.Patterns[0].Match("a.x") {
		t.Errorf("patterns = %v", req.Patterns)
	}
	if req.After != (engine.ID{Epoch: 10, Seq: 7}) {
		t.Errorf("after = %+v", req.After)
	}
}

func TestParseLiveOnly(t *testing.T) {
	req, err := Parse([]string{"news"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !req.After.IsZero() {
		t.Errorf("after = %+v, want zero", req.After)
	}
}

func TestParseRefusals(t *testing.T) {
	many := make([]string, MaxTopics+1)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	for _, tt := range []struct {
		name   string
		topics []string
		id     string
		want   string
	}{
		{"no topics", nil, "", "topics: at least one topic is required"},
		{"too many", many, "", fmt.Sprintf("topics: %d given; the limit is %d", MaxTopics+1, MaxTopics)},
		{"bad pattern", []string{"ok", "a..b"}, "", `topics[1]: pattern "a..b" has an empty token`},
		{"partial wildcard", []string{"ord*"}, "", "topics[0]: "},
		{"bad id", []string{"a"}, "nope", `last_event_id "nope" is not a message id`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.topics, tt.id)
			st, ok := status.FromError(err)
			if !ok || st.Code() != codes.InvalidArgument {
				t.Fatalf("err = %v, want InvalidArgument", err)
			}
			if !strings.HasPrefix(st.Message(), tt.want) {
				t.Errorf("message %q, want prefix %q", st.Message(), tt.want)
			}
			if strings.Contains(st.Message(), "topic: invalid") {
				t.Errorf("message %q carries the package prefix", st.Message())
			}
		})
	}
}

func TestParseAcceptsMaxTopics(t *testing.T) {
	topics := make([]string, MaxTopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("t%d", i)
	}
	req, err := Parse(topics, "")
	if err != nil || len(req.Names) != MaxTopics {
		t.Fatalf("Parse(%d topics) = %d names, %v", MaxTopics, len(req.Names), err)
	}
}

func TestQuoteIDTruncates(t *testing.T) {
	_, err := Parse([]string{"a"}, strings.Repeat("z", 10000))
	if n := len(status.Convert(err).Message()); err == nil || n > 200 {
		t.Fatalf("a 10000-byte id gave %v (%d bytes); it must be refused briefly", err, n)
	}
	if got := QuoteID("ab"); got != `"ab"` {
		t.Errorf("QuoteID = %s", got)
	}
}

func TestFutureIDError(t *testing.T) {
	st := status.Convert(FutureIDError("k-99"))
	if st.Code() != codes.InvalidArgument || st.Message() !=
		`last_event_id "k-99" is ahead of the stream: no message with that id has been published` {
		t.Fatalf("FutureIDError = %v", st)
	}
}

func TestTopicMessage(t *testing.T) {
	err := topic.Validate("a b")
	if !errors.Is(err, topic.ErrInvalid) {
		t.Fatal(err)
	}
	if got := TopicMessage(err); strings.HasPrefix(got, "topic:") || !strings.Contains(got, "a b") {
		t.Errorf("TopicMessage = %q", got)
	}
}
