package topic_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldhq/herald/topic"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", topic.MaxLen)
	for _, tc := range []struct {
		name    string
		wantErr string // substring of the error; empty for valid names
	}{
		{"a", ""},
		{"orders", ""},
		{"orders.eu.created", ""},
		{"A-Z_a-z.0-9:@x", ""},
		{"user@example.com", ""},
		{"ns:chat.room-1", ""},
		{"-._:@", ""},
		{"_", ""},
		{long, ""},
		{long[:100] + "." + long[:154], ""},

		{"", "empty"},
		{long + "a", "limit is 255"},
		{".", "empty token"},
		{".a", "empty token"},
		{"a.", "empty token"},
		{"a..b", "empty token"},
		{"a.*", "wildcards are allowed only when subscribing"},
		{"a.>", "wildcards are allowed only when subscribing"},
		{"*", "wildcards"},
		{"a*", "wildcards"},
		{"a b", `character ' '`},
		{"a/b", `character '/'`},
		{"a\nb", `character '\n'`},
		{"a\x00", `character '\x00'`},
		{"ä", `character 'ä'`},
		{"a\xffb", `character '�'`},
		{"a,b", `character ','`},
		{"a#b", `character '#'`},
	} {
		err := topic.Validate(tc.name)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Validate(%q) = %v, want nil", tc.name, err)
		case tc.wantErr != "" && err == nil:
			t.Errorf("Validate(%q) = nil, want an error with %q", tc.name, tc.wantErr)
		case tc.wantErr != "" && (!errors.Is(err, topic.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Validate(%q) = %v, want topic.ErrInvalid with %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestParsePattern(t *testing.T) {
	long := strings.Repeat("a", topic.MaxLen)
	for _, tc := range []struct {
		pattern string
		literal bool
		wantErr string
	}{
		{"a", true, ""},
		{"orders.eu.created", true, ""},
		{long, true, ""},
		{"*", false, ""},
		{">", false, ""},
		{"a.*", false, ""},
		{"*.b", false, ""},
		{"a.*.c", false, ""},
		{"*.*", false, ""},
		{"a.>", false, ""},
		{"*.>", false, ""},
		{"a:b@c.*.>", false, ""},

		{"", false, "empty"},
		{long + "a", false, "limit is 255"},
		{"a..b", false, "empty token"},
		{".a", false, "empty token"},
		{"a.", false, "empty token"},
		{"a.>.b", false, "'>' may only be the last token"},
		{">.a", false, "'>' may only be the last token"},
		{">.>", false, "'>' may only be the last token"},
		{"a*", false, "a wildcard must be a whole token"},
		{"a.b>", false, "a wildcard must be a whole token"},
		{"**", false, "a wildcard must be a whole token"},
		{"a b", false, `character ' '`},
		{"a.é", false, `character 'é'`},
		{"a.#", false, `character '#'`},
	} {
		p, err := topic.ParsePattern(tc.pattern)
		if tc.wantErr != "" {
			if !errors.Is(err, topic.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParsePattern(%q) = %v, want topic.ErrInvalid with %q", tc.pattern, err, tc.wantErr)
			}
			if p.String() != "" || p.Match("a") {
				t.Errorf("ParsePattern(%q) returned a usable pattern with its error", tc.pattern)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePattern(%q) = %v, want nil", tc.pattern, err)
			continue
		}
		if p.String() != tc.pattern {
			t.Errorf("ParsePattern(%q).String() = %q", tc.pattern, p.String())
		}
		if p.IsLiteral() != tc.literal {
			t.Errorf("ParsePattern(%q).IsLiteral() = %v, want %v", tc.pattern, p.IsLiteral(), tc.literal)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"a", []string{"a"}, []string{"b", "a.b", "aa", "A"}},
		{"a.b", []string{"a.b"}, []string{"a", "a.b.c", "a.bb", "b.a"}},
		{"*", []string{"a", "xyz", "@"}, []string{"a.b", "a.b.c"}},
		{">", []string{"a", "a.b", "a.b.c"}, nil},
		{"a.*", []string{"a.b", "a.x"}, []string{"a", "a.b.c", "b.b", "aa.b"}},
		{"*.b", []string{"a.b", "x.b"}, []string{"b", "a.b.c", "a.c"}},
		{"a.*.c", []string{"a.b.c", "a.x.c"}, []string{"a.c", "a.b.c.d", "a.b.d", "b.b.c"}},
		{"*.*", []string{"a.b", "x.y"}, []string{"a", "a.b.c"}},
		{"a.>", []string{"a.b", "a.b.c", "a.b.c.d"}, []string{"a", "b.a", "ab.c"}},
		{"*.>", []string{"a.b", "a.b.c"}, []string{"a"}},
		{"a.*.>", []string{"a.b.c", "a.b.c.d"}, []string{"a", "a.b"}},
	} {
		p := topic.MustParsePattern(tc.pattern)
		for _, name := range tc.match {
			if !p.Match(name) {
				t.Errorf("%q does not match %q, want a match", tc.pattern, name)
			}
		}
		for _, name := range tc.noMatch {
			if p.Match(name) {
				t.Errorf("%q matches %q, want no match", tc.pattern, name)
			}
		}
	}
}

func TestZeroPatternMatchesNothing(t *testing.T) {
	var p topic.Pattern
	for _, name := range []string{"a", "a.b", ""} {
		if p.Match(name) {
			t.Errorf("the zero Pattern matches %q", name)
		}
	}
	if p.String() != "" {
		t.Errorf("zero Pattern String() = %q", p.String())
	}
}

func TestMustParsePatternPanics(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, topic.ErrInvalid) {
			t.Errorf("MustParsePattern(\"a..b\") panicked with %v, want a topic.ErrInvalid error", r)
		}
	}()
	topic.MustParsePattern("a..b")
}
