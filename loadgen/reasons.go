package loadgen

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// maxReasons bounds the distinct reasons kept; further ones are counted
// under "other".
const maxReasons = 16

// addrPattern matches the addresses and ports in error texts, which differ
// for every connection and would make every reason distinct.
var addrPattern = regexp.MustCompile(`\[?[0-9a-fA-F:.]*[0-9a-fA-F]\]?:[0-9]+`)

// reasons counts errors by their text, with addresses masked. It is safe
// for concurrent use.
type reasons struct {
	mu     sync.Mutex
	counts map[string]int
	total  int
}

// add counts err.
func (r *reasons) add(err error) {
	text := "<nil>"
	if err != nil {
		text = addrPattern.ReplaceAllString(err.Error(), "ADDR")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.total++
	if _, ok := r.counts[text]; !ok && len(r.counts) >= maxReasons {
		text = "other"
	}
	r.counts[text]++
}

// count returns how many errors were added.
func (r *reasons) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// snapshot returns a copy of the counts, nil when there are none.
func (r *reasons) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.counts) == 0 {
		return nil
	}
	out := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// top describes the most frequent reason, for an error message.
func (r *reasons) top() string {
	m := r.snapshot()
	if len(m) == 0 {
		return "no attempt was made"
	}
	keys := sortedReasons(m)
	s := fmt.Sprintf("%s (%d of %d)", keys[0], m[keys[0]], r.count())
	if len(keys) > 1 {
		s += fmt.Sprintf("; %d other reasons", len(keys)-1)
	}
	return s
}

// sortedReasons returns the reasons of m, most frequent first.
func sortedReasons(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}
