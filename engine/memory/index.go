package memory

import (
	"strings"

	"github.com/heraldhq/herald/topic"
)

// entry is the set of subscriptions that share one pattern.
type entry struct {
	pattern topic.Pattern
	// node is where a wildcard pattern sits in the trie; nil for a literal
	// pattern.
	node *trieNode
	subs []*subscription
}

// membership records where a subscription sits in one entry's list, so it
// can leave in O(1).
type membership struct {
	ent *entry
	pos int
}

// index finds the subscriptions a published message goes to. Literal
// patterns are found with one map lookup by topic name (a wildcard pattern
// never equals a valid topic name, so one map holds both kinds); wildcard
// patterns sit in a token trie, so matching costs what the topic's tokens
// reach, not the number of patterns. Guarded by the engine's mutex.
type index struct {
	entries map[string]*entry // by pattern string
	root    *trieNode         // wildcard patterns
	wild    int               // number of wildcard entries
}

// trieNode is one token position of the wildcard patterns.
type trieNode struct {
	parent   *trieNode
	token    string               // the token leading here from parent
	children map[string]*trieNode // literal next tokens
	star     *trieNode            // `*` as the next token
	tail     *entry               // the pattern ending here with `>`
	end      *entry               // the pattern ending exactly here
}

func newIndex() index {
	return index{entries: make(map[string]*entry), root: &trieNode{}}
}

// literal returns the entry of subscriptions to exactly the topic name, or
// nil.
func (ix *index) literal(name string) *entry {
	return ix.entries[name]
}

// matchWild appends to dst the wildcard entries whose pattern matches the
// valid topic name.
func (ix *index) matchWild(name string, dst []*entry) []*entry {
	if ix.wild == 0 {
		return dst
	}
	return ix.root.match(name, dst)
}

// match appends the entries matching rest, the non-empty remainder of a
// topic name, from n on.
func (n *trieNode) match(rest string, dst []*entry) []*entry {
	if n.tail != nil {
		dst = append(dst, n.tail) // `>`: one or more tokens remain
	}
	tok, after, more := strings.Cut(rest, ".")
	if c := n.children[tok]; c != nil {
		dst = c.visit(after, more, dst)
	}
	if n.star != nil {
		dst = n.star.visit(after, more, dst)
	}
	return dst
}

// visit continues a match at n, which consumed one token.
func (n *trieNode) visit(after string, more bool, dst []*entry) []*entry {
	if !more {
		if n.end != nil {
			dst = append(dst, n.end)
		}
		return dst
	}
	return n.match(after, dst)
}

// add enters s under each of its (distinct) patterns.
func (ix *index) add(s *subscription) {
	for _, p := range s.patterns {
		key := p.String()
		ent := ix.entries[key]
		if ent == nil {
			ent = &entry{pattern: p}
			if !p.IsLiteral() {
				ix.insert(ent)
			}
			ix.entries[key] = ent
		}
		s.members = append(s.members, membership{ent: ent, pos: len(ent.subs)})
		ent.subs = append(ent.subs, s)
	}
}

// insert places a wildcard entry in the trie.
func (ix *index) insert(ent *entry) {
	toks := strings.Split(ent.pattern.String(), ".")
	tail := toks[len(toks)-1] == ">"
	if tail {
		toks = toks[:len(toks)-1]
	}
	n := ix.root
	for _, tok := range toks {
		n = n.child(tok)
	}
	if tail {
		n.tail = ent
	} else {
		n.end = ent
	}
	ent.node = n
	ix.wild++
}

// child returns the node for the next token tok, creating it.
func (n *trieNode) child(tok string) *trieNode {
	if tok == "*" {
		if n.star == nil {
			n.star = &trieNode{parent: n, token: tok}
		}
		return n.star
	}
	c := n.children[tok]
	if c == nil {
		if n.children == nil {
			n.children = make(map[string]*trieNode)
		}
		c = &trieNode{parent: n, token: tok}
		n.children[tok] = c
	}
	return c
}

// remove takes s out of every entry it is in.
func (ix *index) remove(s *subscription) {
	for _, mb := range s.members {
		ent := mb.ent
		last := len(ent.subs) - 1
		moved := ent.subs[last]
		ent.subs[mb.pos] = moved
		ent.subs[last] = nil
		ent.subs = ent.subs[:last]
		if moved != s {
			moved.movedTo(ent, mb.pos)
		}
		if len(ent.subs) == 0 {
			ix.drop(ent)
		}
	}
	clear(s.members)
	s.members = s.members[:0]
}

// drop forgets an entry that no subscription uses any more, pruning the
// trie nodes left empty.
func (ix *index) drop(ent *entry) {
	delete(ix.entries, ent.pattern.String())
	n := ent.node
	if n == nil {
		return
	}
	ent.node = nil
	ix.wild--
	if n.tail == ent {
		n.tail = nil
	} else {
		n.end = nil
	}
	for n.parent != nil && n.tail == nil && n.end == nil && n.star == nil && len(n.children) == 0 {
		p := n.parent
		if p.star == n {
			p.star = nil
		} else {
			delete(p.children, n.token)
		}
		n = p
	}
}

// movedTo records that s now sits at pos in ent's list.
func (s *subscription) movedTo(ent *entry, pos int) {
	for i := range s.members {
		if s.members[i].ent == ent {
			s.members[i].pos = pos
			return
		}
	}
}
