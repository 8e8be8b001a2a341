package loadgen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size int
		h    Header
	}{
		{HeaderLen, Header{Run: "abc123", Publisher: 0, Seq: 0, Sent: 0}},
		{100, Header{Run: "zzzzzz", Publisher: 7, Seq: 42, Sent: 1234567 * time.Microsecond}},
		{4096, Header{Run: "000000", Publisher: MaxPublishers, Seq: maxSeq, Sent: maxSentNs}},
	} {
		buf := make([]byte, tc.size)
		if err := EncodePayload(buf, tc.h); err != nil {
			t.Fatalf("EncodePayload(%d, %+v): %v", tc.size, tc.h, err)
		}
		for i, c := range buf {
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				t.Fatalf("byte %d of the payload is %q: not printable without quoting", i, c)
			}
		}
		got, err := DecodePayload(buf)
		if err != nil {
			t.Fatalf("DecodePayload(%q): %v", buf, err)
		}
		if got != tc.h {
			t.Errorf("round trip: got %+v, want %+v", got, tc.h)
		}
		raw, ok := parseHeader(buf)
		if !ok || string(raw.run) != tc.h.Run || raw.publisher != tc.h.Publisher || raw.seq != tc.h.Seq || raw.sent != tc.h.Sent {
			t.Errorf("parseHeader: %+v %v, want %+v", raw, ok, tc.h)
		}
	}
}

func TestPayloadLayoutIsFixed(t *testing.T) {
	t.Parallel()
	buf := make([]byte, 60)
	if err := EncodePayload(buf, Header{Run: "r1n2x3", Publisher: 12, Seq: 345, Sent: 6789}); err != nil {
		t.Fatal(err)
	}
	const want = "hbr1n2x3.012.000000000345.0000000000006789."
	if got := string(buf[:HeaderLen]); got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if got, wantPad := string(buf[HeaderLen:]), padAlphabet[HeaderLen:60]; got != wantPad {
		t.Errorf("padding %q, want %q", got, wantPad)
	}
}

func TestEncodePayloadRefusesWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	ok := Header{Run: "abcdef"}
	for _, tc := range []struct {
		name string
		size int
		h    Header
	}{
		{"short buffer", HeaderLen - 1, ok},
		{"run id too short", HeaderLen, Header{Run: "abc"}},
		{"run id upper case", HeaderLen, Header{Run: "ABCDEF"}},
		{"publisher too large", HeaderLen, Header{Run: "abcdef", Publisher: MaxPublishers + 1}},
		{"negative publisher", HeaderLen, Header{Run: "abcdef", Publisher: -1}},
		{"sequence too large", HeaderLen, Header{Run: "abcdef", Seq: maxSeq + 1}},
		{"negative send time", HeaderLen, Header{Run: "abcdef", Sent: -1}},
		{"send time too large", HeaderLen, Header{Run: "abcdef", Sent: maxSentNs + 1}},
	} {
		if err := EncodePayload(make([]byte, tc.size), tc.h); err == nil {
			t.Errorf("%s: EncodePayload accepted %+v in %d bytes", tc.name, tc.h, tc.size)
		}
	}
}

func TestDecodePayloadRefusesMalformed(t *testing.T) {
	t.Parallel()
	good := make([]byte, 64)
	if err := EncodePayload(good, Header{Run: "abcdef", Publisher: 1, Seq: 2, Sent: 3}); err != nil {
		t.Fatal(err)
	}
	mutate := func(i int, c byte) []byte {
		b := bytes.Clone(good)
		b[i] = c
		return b
	}
	for name, p := range map[string][]byte{
		"empty":             nil,
		"truncated":         good[:HeaderLen-1],
		"bad magic":         mutate(0, 'x'),
		"bad run id":        mutate(runOff, '-'),
		"bad separator":     mutate(pubOff-1, '-'),
		"letter in pub":     mutate(pubOff, 'a'),
		"letter in seq":     mutate(seqOff+3, 'a'),
		"letter in sent":    mutate(sentOff+15, 'a'),
		"bad last dot":      mutate(HeaderLen-1, 'a'),
		"someone else's":    []byte(strings.Repeat("hello ", 20)),
		"json of a payload": []byte(`{"data":"` + string(good) + `"}`),
	} {
		if h, err := DecodePayload(p); !errors.Is(err, ErrNotPayload) {
			t.Errorf("%s: DecodePayload(%q) = %+v, %v; want ErrNotPayload", name, p, h, err)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	good := make([]byte, 50)
	_ = EncodePayload(good, Header{Run: "abcdef", Publisher: 3, Seq: 99, Sent: 12345})
	f.Add(good)
	f.Add([]byte("hb"))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := DecodePayload(p)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same header bytes.
		again := make([]byte, HeaderLen)
		if err := EncodePayload(again, h); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", h, err)
		}
		if !bytes.Equal(again, p[:HeaderLen]) {
			t.Fatalf("header %q decodes to %+v, which encodes to %q", p[:HeaderLen], h, again)
		}
	})
}
