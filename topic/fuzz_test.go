package topic_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldhq/herald/topic"
)

func FuzzTopic(f *testing.F) {
	for _, s := range []string{
		"a", "a.b", "orders.eu.created", "user@example.com", "ns:chat.room-1",
		"", ".", "a.", ".a", "a..b", "*", ">", "a.*", "a.>", "a.>.b", "a*", "ä", "a b",
		strings.Repeat("x", topic.MaxLen), strings.Repeat("x.", 128),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		verr := topic.Validate(s)
		p, perr := topic.ParsePattern(s)
		if verr != nil && !errors.Is(verr, topic.ErrInvalid) {
			t.Fatalf("Validate(%q): %v does not wrap ErrInvalid", s, verr)
		}
		if perr != nil && !errors.Is(perr, topic.ErrInvalid) {
			t.Fatalf("ParsePattern(%q): %v does not wrap ErrInvalid", s, perr)
		}
		if perr == nil && p.String() != s {
			t.Fatalf("ParsePattern(%q).String() = %q", s, p.String())
		}
		if verr != nil {
			return
		}
		// A valid name is a valid literal pattern that matches itself.
		if perr != nil {
			t.Fatalf("Validate(%q) accepts it but ParsePattern says %v", s, perr)
		}
		if !p.IsLiteral() || !p.Match(s) {
			t.Fatalf("literal pattern %q: IsLiteral %v, matches itself %v", s, p.IsLiteral(), p.Match(s))
		}
		// "<first token>.>" matches the name exactly when it has more
		// tokens; ">" matches every name.
		first, _, more := strings.Cut(s, ".")
		if len(first)+2 <= topic.MaxLen {
			tail, err := topic.ParsePattern(first + ".>")
			if err != nil {
				t.Fatalf("ParsePattern(%q): %v", first+".>", err)
			}
			if tail.Match(s) != more {
				t.Fatalf("%q matches %q: %v, want %v", tail, s, tail.Match(s), more)
			}
		}
		if !topic.MustParsePattern(">").Match(s) {
			t.Fatalf("> does not match %q", s)
		}
		// "*" in place of the first token matches too.
		_, rest, _ := strings.Cut(s, ".")
		star := "*"
		if more {
			star += "." + rest
		}
		if sp, err := topic.ParsePattern(star); err == nil && !sp.Match(s) {
			t.Fatalf("%q does not match %q", star, s)
		}
	})
}
