package engine_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/heraldhq/herald/engine"
)

func TestIDRoundTrip(t *testing.T) {
	for _, id := range []engine.ID{
		{Epoch: 1, Seq: 1},
		{Epoch: 7, Seq: 0}, // the epoch's start
		{Epoch: 35, Seq: 10},
		{Epoch: 36, Seq: 42},
		{Epoch: 0x1234_5678_9abc_def0, Seq: 7},
		{Epoch: math.MaxUint64, Seq: math.MaxUint64},
	} {
		s := id.String()
		got, err := engine.ParseID(s)
		if err != nil || got != id {
			t.Errorf("ParseID(%q) = %+v, %v; want %+v", s, got, err, id)
		}
		b, err := id.AppendText([]byte("x:"))
		if err != nil || string(b) != "x:"+s {
			t.Errorf("AppendText(%+v) = %q, %v; want %q", id, b, err, "x:"+s)
		}
	}
}

func TestIDFormat(t *testing.T) {
	for _, tc := range []struct {
		id   engine.ID
		want string
	}{
		{engine.ID{}, ""},
		{engine.ID{Epoch: 1, Seq: 1}, "1-1"},
		{engine.ID{Epoch: 35, Seq: 9}, "z-9"},
		{engine.ID{Epoch: 36, Seq: 10}, "10-10"},
		{engine.ID{Epoch: math.MaxUint64, Seq: math.MaxUint64}, "3w5e11264sgsf-18446744073709551615"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.id, got, tc.want)
		}
	}
	if b, err := (engine.ID{}).AppendText([]byte("keep")); err != nil || string(b) != "keep" {
		t.Errorf("zero AppendText = %q, %v; want the input unchanged", b, err)
	}
}

func TestParseIDEmptyIsZero(t *testing.T) {
	id, err := engine.ParseID("")
	if err != nil || !id.IsZero() {
		t.Errorf(`ParseID("") = %+v, %v; want the zero id`, id, err)
	}
}

func TestParseIDRejectsMalformed(t *testing.T) {
	for _, s := range []string{
		"-",                            // empty parts
		"-1",                           // empty epoch
		"abc-",                         // empty seq
		"abc",                          // no separator
		"abc--1",                       // sign in seq
		"abc-+1",                       // plus sign in seq
		"+abc-1",                       // plus sign in epoch
		"-abc-1",                       // minus sign in epoch
		"0-1",                          // zero epoch
		"00-1",                         // zero epoch, leading zero
		"0abc-1",                       // leading zero in epoch
		"abc-01",                       // leading zero in seq
		"abc-00",                       // zero seq with leading zero
		"ABC-1",                        // uppercase epoch
		"aBc-1",                        // mixed case epoch
		"abc-1a",                       // letters in seq
		"abc-1-2",                      // two separators
		"a_bc-1",                       // underscore
		"abc-1_000",                    // underscore in seq
		" abc-1",                       // space
		"abc-1 ",                       // trailing space
		"abc-1\n",                      // newline
		"ab c-1",                       // inner space
		"é-1",                          // non-ASCII
		"0x1f-1",                       // base prefix
		"3w5e11264sgsg-1",              // epoch overflows uint64
		"abc-18446744073709551616",     // seq overflows uint64
		strings.Repeat("z", 13) + "-1", // 13 base-36 digits beyond uint64
		"1-" + strings.Repeat("1", 39), // too long
		strings.Repeat("a", 41),
	} {
		id, err := engine.ParseID(s)
		if !errors.Is(err, engine.ErrBadID) {
			t.Errorf("ParseID(%q) = %+v, %v; want ErrBadID", s, id, err)
		}
		if !id.IsZero() {
			t.Errorf("ParseID(%q) returned %+v with an error; want the zero id", s, id)
		}
	}
}

func TestIDLessAndIsZero(t *testing.T) {
	a, b := engine.ID{Epoch: 5, Seq: 1}, engine.ID{Epoch: 5, Seq: 2}
	if !a.Less(b) || b.Less(a) || a.Less(a) {
		t.Errorf("Less is not the seq order")
	}
	if !(engine.ID{}).IsZero() || a.IsZero() || (engine.ID{Seq: 1}).IsZero() {
		t.Errorf("IsZero is wrong")
	}
}

func TestGapReasonString(t *testing.T) {
	for r, want := range map[engine.GapReason]string{
		engine.GapTruncated:    "truncated",
		engine.GapEpochChanged: "epoch_changed",
		0:                      "unknown",
		99:                     "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("GapReason(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"", "1-1", "z-9", "10-10", "mh3k2a9z-42", "3w5e11264sgsf-18446744073709551615",
		"3w5e11264sgsg-1", "0-1", "a-0", "a-01", "A-1", "a--1", "a-+1", "-", "a-1-2", "a_b-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := engine.ParseID(s)
		if err != nil {
			if !errors.Is(err, engine.ErrBadID) {
				t.Fatalf("ParseID(%q): error %v does not wrap ErrBadID", s, err)
			}
			if !id.IsZero() {
				t.Fatalf("ParseID(%q) returned %+v with an error", s, id)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseID(%q) = %+v, which formats as %q", s, id, got)
		}
		if s != "" && id.Epoch == 0 {
			t.Fatalf("ParseID(%q) = %+v: zero epoch", s, id)
		}
	})
}
