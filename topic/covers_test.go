package topic

import "testing"

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		outer, inner string
		want         bool
	}{
		{"orders.>", "orders.eu", true},
		{"orders.>", "orders.*.eu", true},
		{"orders.>", "orders.>", true},
		{"orders.>", "orders", false},
		{"orders.>", ">", false},
		{"orders.*", "orders.eu", true},
		{"orders.*", "orders.*", true},
		{"orders.*", "orders.>", false},
		{"orders.*", "orders.eu.x", false},
		{"orders.eu", "orders.eu", true},
		{"orders.eu", "orders.*", false},
		{"orders.eu", "orders.us", false},
		{">", "a.b.c", true},
		{">", "*", true},
		{">", ">", true},
		{"*", ">", false},
		{"*", "*", true},
		{"*.eu", "*.eu", true},
		{"*.eu", "*.*", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.*.>", false},
		{"a.*.>", "a.b.>", true},
		{"a.*.>", "a.>", false},
	} {
		got := MustParsePattern(tc.outer).Covers(MustParsePattern(tc.inner))
		if got != tc.want {
			t.Errorf("%q.Covers(%q) = %v, want %v", tc.outer, tc.inner, got, tc.want)
		}
	}
	if (Pattern{}).Covers(MustParsePattern("a")) || MustParsePattern(">").Covers(Pattern{}) {
		t.Error("the zero Pattern must cover nothing and be covered by nothing")
	}
}

// FuzzCovers checks Covers against Match: when outer covers inner, every
// topic inner matches, outer matches too.
func FuzzCovers(f *testing.F) {
	f.Add("orders.>", "orders.*.eu", "orders.x.eu")
	f.Add("a.*", "a.b", "a.b")
	f.Add(">", "*", "x")
	f.Add("user.alice", "user.alice", "user.alice")
	f.Fuzz(func(t *testing.T, outer, inner, name string) {
		o, err1 := ParsePattern(outer)
		in, err2 := ParsePattern(inner)
		if err1 != nil || err2 != nil || Validate(name) != nil {
			return
		}
		if o.Covers(in) && in.Match(name) && !o.Match(name) {
			t.Fatalf("%q covers %q, which matches %q, but %q does not match it", outer, inner, name, outer)
		}
		if o.Covers(in) && !o.Covers(o) {
			t.Fatalf("%q covers %q but not itself", outer, inner)
		}
	})
}
