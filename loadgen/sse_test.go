package loadgen

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// event is an sseEvent with copied fields, comparable in tests.
type event struct {
	Type, Data, ID string
	Retry          int
}

// parseAll parses stream through r and returns every event and the error
// that ended it.
func parseAll(r io.Reader) ([]event, error) {
	p := newSSEParser(r)
	var out []event
	for {
		ev, err := p.next()
		if err != nil {
			return out, err
		}
		out = append(out, event{string(ev.Type), string(ev.Data), string(ev.ID), ev.Retry})
	}
}

// readers returns the ways a test feeds a stream to the parser: at once,
// byte by byte (every line end split from its line, CRLF split in two),
// and in small chunks.
func readers(stream string) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":      strings.NewReader(stream),
		"byte":       iotest.OneByteReader(strings.NewReader(stream)),
		"half-chunk": iotest.HalfReader(strings.NewReader(stream)),
	}
}

func TestSSEParser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stream string
		want   []event
	}{
		{
			name:   "herald stream",
			stream: "retry: 2000\n\nid: e-1\nevent: herald.subscribed\ndata: {\"topics\":[\"news\"]}\n\nid: e-2\ndata: hello\n\n: heartbeat\nevent: herald.heartbeat\ndata: 2026-11-21T14:20:01Z\n\n",
			want: []event{
				{"herald.subscribed", `{"topics":["news"]}`, "e-1", 2000},
				{"message", "hello", "e-2", 2000},
				{"herald.heartbeat", "2026-11-21T14:20:01Z", "e-2", 2000},
			},
		},
		{
			name:   "multi-line data joined with LF",
			stream: "id: 3\nevent: greeting\ndata: first line\ndata: second line\ndata:\ndata: fourth\n\n",
			want:   []event{{"greeting", "first line\nsecond line\n\nfourth", "3", -1}},
		},
		{
			name:   "CRLF line ends",
			stream: "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
			want:   []event{{"message", "a\nb", "", -1}, {"message", "c", "", -1}},
		},
		{
			name:   "lone CR line ends",
			stream: "data: a\rdata: b\r\rdata: c\r\r",
			want:   []event{{"message", "a\nb", "", -1}, {"message", "c", "", -1}},
		},
		{
			name:   "mixed line ends",
			stream: "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r\n",
			want:   []event{{"message", "a\nb\nc", "", -1}, {"message", "d", "", -1}},
		},
		{
			name:   "CR then LF is one line end, not an empty line",
			stream: "data: x\r\n\r\n",
			want:   []event{{"message", "x", "", -1}},
		},
		{
			name:   "comments are skipped anywhere",
			stream: ": hello\ndata: a\n:another\ndata: b\n\n:\n\n",
			want:   []event{{"message", "a\nb", "", -1}},
		},
		{
			name:   "only one space after the colon is stripped",
			stream: "data:no space\n\ndata:  two spaces\n\n",
			want:   []event{{"message", "no space", "", -1}, {"message", " two spaces", "", -1}},
		},
		{
			name:   "colons in the value stay",
			stream: "data: {\"a\":\"b:c\"}\n\n",
			want:   []event{{"message", `{"a":"b:c"}`, "", -1}},
		},
		{
			name:   "a field name alone has an empty value",
			stream: "data\ndata\n\n",
			want:   []event{{"message", "\n", "", -1}},
		},
		{
			name:   "an event without data is not dispatched and its type is reset",
			stream: "event: lonely\nid: 9\n\ndata: next\n\n",
			want:   []event{{"message", "next", "9", -1}},
		},
		{
			name:   "the id persists and an empty id clears it",
			stream: "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
			want:   []event{{"message", "a", "1", -1}, {"message", "b", "1", -1}, {"message", "c", "", -1}},
		},
		{
			name:   "an id holding NUL is ignored",
			stream: "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			want:   []event{{"message", "a", "1", -1}, {"message", "b", "1", -1}},
		},
		{
			name:   "retry must be digits only",
			stream: "retry: 10x\ndata: a\n\nretry: 300\ndata: b\n\nretry: -5\ndata: c\n\n",
			want:   []event{{"message", "a", "", -1}, {"message", "b", "", 300}, {"message", "c", "", 300}},
		},
		{
			name:   "unknown fields are ignored",
			stream: "foo: bar\ndata: a\nData: b\n\n",
			want:   []event{{"message", "a", "", -1}},
		},
		{
			name:   "a leading byte-order mark is skipped once",
			stream: "\uFEFFdata: a\n\n\uFEFFdata: b\n\n",
			want:   []event{{"message", "a", "", -1}},
		},
		{
			name:   "an event not ended by an empty line is discarded",
			stream: "data: complete\n\ndata: incomplete\n",
			want:   []event{{"message", "complete", "", -1}},
		},
		{
			name:   "a last line without its end is discarded",
			stream: "data: complete\n\ndata: cut",
			want:   []event{{"message", "complete", "", -1}},
		},
		{
			name:   "event type set after data",
			stream: "data: a\nevent: late\n\n",
			want:   []event{{"late", "a", "", -1}},
		},
	} {
		for how, r := range readers(tc.stream) {
			got, err := parseAll(r)
			if !errors.Is(err, io.EOF) {
				t.Errorf("%s (%s): ended with %v, want EOF", tc.name, how, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s (%s):\n got %+v\nwant %+v", tc.name, how, got, tc.want)
			}
		}
	}
}

func TestSSEParserLongLinesGrowTheBuffer(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100_000)
	got, err := parseAll(strings.NewReader("data: " + long + "\r\n\r\ndata: short\n\n"))
	if !errors.Is(err, io.EOF) || len(got) != 2 || got[0].Data != long || got[1].Data != "short" {
		t.Fatalf("got %d events (first %d bytes), err %v", len(got), len(got[0].Data), err)
	}
}

func TestSSEParserRefusesEndlessLines(t *testing.T) {
	t.Parallel()
	// A line with no end: the parser stops at its limit, not at the
	// reader's.
	endless := io.MultiReader(strings.NewReader("data: "), infiniteReader('x'))
	if _, err := parseAll(endless); !errors.Is(err, errSSETooLong) {
		t.Fatalf("endless line: %v, want errSSETooLong", err)
	}
	// Many short data lines that never end an event.
	var b strings.Builder
	line := "data: " + strings.Repeat("y", 1000) + "\n"
	for data := 0; data <= sseMaxData+1000; data += 1001 {
		b.WriteString(line)
	}
	if _, err := parseAll(strings.NewReader(b.String())); !errors.Is(err, errSSETooLong) {
		t.Fatalf("endless event: %v, want errSSETooLong", err)
	}
}

func TestSSEParserPassesReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	got, err := parseAll(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("got %+v, %v; want one event then boom", got, err)
	}
}

// infiniteReader reads c forever.
type infiniteReader byte

func (r infiniteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// FuzzSSEParser checks that the parser never panics and that how the
// stream is split into reads never changes the events.
func FuzzSSEParser(f *testing.F) {
	f.Add("retry: 2000\n\nid: 1\nevent: x\ndata: a\ndata: b\n\n")
	f.Add("data: a\r\n\r\ndata: b\r\rdata: c\n\n")
	f.Add(": c\n\uFEFFdata\n\nid: \x00\n")
	f.Fuzz(func(t *testing.T, stream string) {
		whole, err1 := parseAll(strings.NewReader(stream))
		bytewise, err2 := parseAll(iotest.OneByteReader(strings.NewReader(stream)))
		if !reflect.DeepEqual(whole, bytewise) || !errors.Is(err1, io.EOF) || !errors.Is(err2, io.EOF) {
			t.Fatalf("stream %q:\nwhole    %+v %v\nbytewise %+v %v", stream, whole, err1, bytewise, err2)
		}
	})
}
