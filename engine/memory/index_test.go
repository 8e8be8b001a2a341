package memory

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/topic"
)

// randomName returns a topic name of 1–4 tokens from a small alphabet, so
// that random patterns and names often meet.
func randomName(r *rand.Rand) string {
	toks := make([]string, 1+r.IntN(4))
	for i := range toks {
		toks[i] = []string{"a", "b", "c"}[r.IntN(3)]
	}
	return strings.Join(toks, ".")
}

// randomPattern returns a pattern of 1–4 tokens, some of them wildcards.
func randomPattern(r *rand.Rand) string {
	toks := make([]string, 1+r.IntN(4))
	for i := range toks {
		toks[i] = []string{"a", "b", "c", "*"}[r.IntN(4)]
	}
	if r.IntN(3) == 0 {
		toks[len(toks)-1] = ">"
	}
	return strings.Join(toks, ".")
}

// indexed returns the subscriptions the index routes name to, each once.
func indexed(ix *index, name string) []*subscription {
	var out []*subscription
	add := func(ent *entry) {
		for _, s := range ent.subs {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if ent := ix.literal(name); ent != nil {
		add(ent)
	}
	for _, ent := range ix.matchWild(name, nil) {
		add(ent)
	}
	return out
}

// TestIndexAgreesWithMatch checks the index against topic.Pattern.Match
// for random patterns and names, while subscriptions come and go.
func TestIndexAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ix := newIndex()
	var subs []*subscription
	for round := range 400 {
		if len(subs) > 0 && r.IntN(3) == 0 {
			i := r.IntN(len(subs))
			ix.remove(subs[i])
			subs = slices.Delete(subs, i, i+1)
		} else {
			ps := make([]topic.Pattern, 1+r.IntN(3))
			for i := range ps {
				ps[i] = topic.MustParsePattern(randomPattern(r))
			}
			ps, err := distinctPatterns(ps)
			if err != nil {
				t.Fatal(err)
			}
			s := &subscription{patterns: ps}
			ix.add(s)
			subs = append(subs, s)
		}
		for range 20 {
			name := randomName(r)
			var want []*subscription
			for _, s := range subs {
				if slices.ContainsFunc(s.patterns, func(p topic.Pattern) bool { return p.Match(name) }) {
					want = append(want, s)
				}
			}
			got := indexed(&ix, name)
			if len(got) != len(want) {
				t.Fatalf("round %d, topic %q: index routes to %d subscriptions, Match to %d", round, name, len(got), len(want))
			}
			for _, s := range want {
				if !slices.Contains(got, s) {
					t.Fatalf("round %d, topic %q: index misses a subscription to %v", round, name, s.patterns)
				}
			}
		}
	}
	for _, s := range subs {
		ix.remove(s)
	}
	if len(ix.entries) != 0 || ix.wild != 0 || len(ix.root.children) != 0 || ix.root.star != nil || ix.root.tail != nil {
		t.Errorf("index not empty after every subscription left: %d entries, %d wildcards, root %+v", len(ix.entries), ix.wild, *ix.root)
	}
}

func TestIndexWildcardSemantics(t *testing.T) {
	ix := newIndex()
	subFor := func(p string) *subscription {
		s := &subscription{patterns: []topic.Pattern{topic.MustParsePattern(p)}}
		ix.add(s)
		return s
	}
	all, star, deep, tail, exact := subFor(">"), subFor("a.*"), subFor("a.*.c"), subFor("a.>"), subFor("a.b")
	for _, tc := range []struct {
		name string
		want []*subscription
	}{
		{"a", []*subscription{all}},
		{"a.b", []*subscription{all, star, tail, exact}},
		{"a.x", []*subscription{all, star, tail}},
		{"a.b.c", []*subscription{all, deep, tail}},
		{"a.b.c.d", []*subscription{all, tail}},
		{"b.b", []*subscription{all}},
	} {
		got := indexed(&ix, tc.name)
		if len(got) != len(tc.want) {
			t.Errorf("%q: routed to %d subscriptions, want %d", tc.name, len(got), len(tc.want))
			continue
		}
		for _, s := range tc.want {
			if !slices.Contains(got, s) {
				t.Errorf("%q: missing the subscription to %v", tc.name, s.patterns)
			}
		}
	}
}
