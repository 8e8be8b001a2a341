package engine_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/heraldhq/herald/engine"
)

func TestEncodingCacheConcurrentSetOneWinner(t *testing.T) {
	const goroutines = 16
	for round := range 50 {
		m := &engine.Message{}
		key := engine.NewEncodingKey("json")
		results := make([]any, goroutines)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range goroutines {
			wg.Go(func() {
				start.Wait()
				v := fmt.Sprintf("encoding %d", i)
				results[i] = m.SetEncoding(key, v)
			})
		}
		start.Done()
		wg.Wait()
		winner := m.Encoding(key)
		if winner == nil {
			t.Fatalf("round %d: nothing cached", round)
		}
		for i, r := range results {
			if r != winner {
				t.Fatalf("round %d: goroutine %d got %v, want the cached %v", round, i, r, winner)
			}
		}
	}
}

func TestEncodingCacheDistinctKeys(t *testing.T) {
	m := &engine.Message{}
	a, b := engine.NewEncodingKey("same"), engine.NewEncodingKey("same")
	if m.Encoding(a) != nil {
		t.Fatalf("empty cache returned an encoding")
	}
	if got := m.SetEncoding(a, "A"); got != "A" {
		t.Errorf("SetEncoding(a) = %v, want A", got)
	}
	if got := m.Encoding(b); got != nil {
		t.Errorf("a key with the same name shares the cache: Encoding(b) = %v", got)
	}
	if got := m.SetEncoding(b, "B"); got != "B" {
		t.Errorf("SetEncoding(b) = %v, want B", got)
	}
	if got := m.SetEncoding(a, "A2"); got != "A" {
		t.Errorf("second SetEncoding(a) = %v, want the first value A", got)
	}
	if m.Encoding(a) != "A" || m.Encoding(b) != "B" {
		t.Errorf("Encoding: got %v and %v, want A and B", m.Encoding(a), m.Encoding(b))
	}
	if a.String() != "same" {
		t.Errorf("String() = %q", a.String())
	}
}

func TestEncodingCacheConcurrentDistinctKeys(t *testing.T) {
	const keys = 4
	m := &engine.Message{}
	ks := make([]*engine.EncodingKey, keys)
	for i := range ks {
		ks[i] = engine.NewEncodingKey(fmt.Sprint(i))
	}
	var wg sync.WaitGroup
	for i := range 4 * keys {
		wg.Go(func() {
			k := ks[i%keys]
			if got := m.SetEncoding(k, i%keys); got != i%keys {
				t.Errorf("key %d: SetEncoding returned %v", i%keys, got)
			}
		})
	}
	wg.Wait()
	for i, k := range ks {
		if got := m.Encoding(k); got != i {
			t.Errorf("key %d: Encoding = %v", i, got)
		}
	}
}

func TestEncodingCacheFull(t *testing.T) {
	m := &engine.Message{}
	var cached []*engine.EncodingKey
	for i := 0; ; i++ {
		k := engine.NewEncodingKey(fmt.Sprint(i))
		if got := m.SetEncoding(k, i); got != i {
			t.Fatalf("SetEncoding(%d) = %v", i, got)
		}
		if m.Encoding(k) == nil {
			break // the cache is full: the value was returned uncached
		}
		cached = append(cached, k)
		if i > 100 {
			t.Fatalf("the cache never fills")
		}
	}
	if len(cached) < 4 {
		t.Errorf("the cache holds %d encodings; the four transports need at least 4", len(cached))
	}
	for i, k := range cached {
		if got := m.Encoding(k); got != i {
			t.Errorf("key %d: Encoding = %v after the cache filled", i, got)
		}
	}
}
