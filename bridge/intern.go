package bridge

import (
	"runtime"
	"sync"
	"weak"

	"github.com/heraldhq/herald/engine"
)

// interner maps message ids to the one *engine.Message that stands for
// each, for as long as some subscription still holds it. A remote source
// receives every message once per upstream stream; interning lets all its
// subscriptions share one *engine.Message, and with it one cached encoding
// per wire format, as they would on the engine's own node.
//
// The map holds weak pointers only: it never keeps a message alive. When
// the garbage collector frees a message, a cleanup removes its entry, so
// the map is bounded by the messages still queued or being written.
//
// An interner is safe for concurrent use.
type interner struct {
	m sync.Map // engine.ID → weak.Pointer[engine.Message]
}

// intern returns the message for id: the one already interned while it is
// alive, or else the one build returns, which is interned. build runs at
// most once.
func (t *interner) intern(id engine.ID, build func() *engine.Message) *engine.Message {
	v, ok := t.m.Load(id)
	if ok {
		if m := v.(weak.Pointer[engine.Message]).Value(); m != nil {
			return m
		}
	}
	m := build()
	wp := weak.Make(m)
	for {
		if !ok {
			if v, ok = t.m.LoadOrStore(id, wp); !ok {
				break
			}
		}
		if old := v.(weak.Pointer[engine.Message]).Value(); old != nil {
			return old
		}
		// A freed message's entry whose cleanup has not run yet.
		if t.m.CompareAndSwap(id, v, wp) {
			break
		}
		v, ok = t.m.Load(id)
	}
	runtime.AddCleanup(m, t.forget, id)
	return m
}

// forget removes the entry of id once its message has been freed, unless
// a newer message took its place meanwhile.
func (t *interner) forget(id engine.ID) {
	if v, ok := t.m.Load(id); ok && v.(weak.Pointer[engine.Message]).Value() == nil {
		t.m.CompareAndDelete(id, v)
	}
}

// size counts the entries, for tests.
func (t *interner) size() int {
	n := 0
	t.m.Range(func(any, any) bool { n++; return true })
	return n
}
