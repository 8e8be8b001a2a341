// Package topic validates topic names and matches them against subscription
// patterns.
//
// A topic name is 1–255 characters of `A–Z a–z 0–9 _ - . : @`; `.` separates
// tokens, and no token may be empty. A pattern is a topic name in which a
// whole token may be `*` (exactly one token) or, as the last token only, `>`
// (one or more tokens). Everything here is pure and safe for concurrent use.
package topic

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest topic name or pattern, in bytes.
const MaxLen = 255

// Errors returned by Validate and ParsePattern. They wrap ErrInvalid, so
// callers can test with errors.Is(err, topic.ErrInvalid).
var (
	// ErrInvalid is the common cause of every validation error.
	ErrInvalid = errors.New("topic: invalid")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// validByte reports whether c may appear in a topic name.
func validByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '_', c == '-', c == '.', c == ':', c == '@':
		return true
	}
	return false
}

// Validate reports whether name is a valid concrete topic name (no
// wildcards). The error says what is wrong in terms a client can act on.
func Validate(name string) error {
	if err := checkLen(name); err != nil {
		return err
	}
	start := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '.' {
			if i == start {
				return invalid("topic %q has an empty token", name)
			}
			start = i + 1
			continue
		}
		if !validByte(c) {
			if c == '*' || c == '>' {
				return invalid("topic %q: wildcards are allowed only when subscribing", name)
			}
			return invalid("topic %q: character %q is not allowed (use A-Z a-z 0-9 _ - . : @)", name, runeAt(name, i))
		}
	}
	if start == len(name) {
		return invalid("topic %q has an empty token", name)
	}
	return nil
}

// runeAt returns the character that starts at byte i of s, so that an
// error names a non-ASCII character as the client wrote it (an invalid
// UTF-8 byte shows as U+FFFD).
func runeAt(s string, i int) rune {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

func checkLen(s string) error {
	if s == "" {
		return invalid("topic is empty")
	}
	if len(s) > MaxLen {
		return invalid("topic is %d characters long; the limit is %d", len(s), MaxLen)
	}
	return nil
}

// Pattern is a parsed subscription pattern. The zero value matches nothing.
// A Pattern is immutable and safe for concurrent use.
type Pattern struct {
	raw    string
	tokens []string // nil for a literal pattern (no wildcards)
	tail   bool     // last token is ">"
}

// ParsePattern parses a topic or pattern. A pattern without wildcards is a
// literal topic and matches only itself.
func ParsePattern(p string) (Pattern, error) {
	if err := checkLen(p); err != nil {
		return Pattern{}, err
	}
	toks := strings.Split(p, ".")
	wild := false
	for i, tok := range toks {
		switch tok {
		case "":
			return Pattern{}, invalid("pattern %q has an empty token", p)
		case "*":
			wild = true
			continue
		case ">":
			if i != len(toks)-1 {
				return Pattern{}, invalid("pattern %q: '>' may only be the last token", p)
			}
			wild = true
			continue
		}
		for j := 0; j < len(tok); j++ {
			c := tok[j]
			if !validByte(c) {
				if c == '*' || c == '>' {
					return Pattern{}, invalid("pattern %q: a wildcard must be a whole token", p)
				}
				return Pattern{}, invalid("pattern %q: character %q is not allowed (use A-Z a-z 0-9 _ - . : @ and the wildcards * and >)", p, runeAt(tok, j))
			}
		}
	}
	if !wild {
		return Pattern{raw: p}, nil
	}
	pat := Pattern{raw: p, tokens: toks}
	if toks[len(toks)-1] == ">" {
		pat.tail = true
		pat.tokens = toks[:len(toks)-1]
	}
	return pat, nil
}

// MustParsePattern is ParsePattern for patterns known to be valid, such as
// constants in tests. It panics on an invalid pattern.
func MustParsePattern(p string) Pattern {
	pat, err := ParsePattern(p)
	if err != nil {
		panic(err)
	}
	return pat
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// IsLiteral reports whether the pattern has no wildcards, so that it matches
// exactly one topic: String().
func (p Pattern) IsLiteral() bool { return p.tokens == nil && !p.tail }

// Match reports whether the concrete topic name matches the pattern.
func (p Pattern) Match(name string) bool {
	if p.raw == "" {
		return false
	}
	if p.IsLiteral() {
		return p.raw == name
	}
	rest := name
	for _, tok := range p.tokens {
		if rest == "" {
			return false
		}
		var cur string
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			cur, rest = rest[:i], rest[i+1:]
			if rest == "" { // trailing dot cannot happen in a valid name
				return false
			}
		} else {
			cur, rest = rest, ""
		}
		if tok != "*" && tok != cur {
			return false
		}
	}
	if p.tail {
		return rest != ""
	}
	return rest == ""
}

// Covers reports whether every topic that inner matches is also matched by
// p: whether a holder allowed p may subscribe to inner. A literal inner is
// covered when p matches it; a wildcard inner only by a pattern at least
// as wide at every token ("orders.>" covers "orders.*.eu" and "orders.>",
// "orders.*" covers "orders.eu" but not "orders.>"). The zero Pattern
// covers nothing and is covered by nothing.
func (p Pattern) Covers(inner Pattern) bool {
	if p.raw == "" || inner.raw == "" {
		return false
	}
	if inner.IsLiteral() {
		return p.Match(inner.raw)
	}
	if p.IsLiteral() {
		return false // inner has a wildcard, so it matches more than one topic
	}
	n := len(p.tokens)
	for i, tok := range p.tokens {
		if i >= len(inner.tokens) {
			// inner has run out of fixed tokens while p needs more: its
			// '>' (or its end) cannot be narrowed to p's next token.
			return false
		}
		in := inner.tokens[i]
		if tok != "*" && tok != in { // a literal covers only itself
			return false
		}
	}
	if p.tail {
		return len(inner.tokens) > n || inner.tail
	}
	return len(inner.tokens) == n && !inner.tail
}
