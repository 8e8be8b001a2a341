package memory

import (
	"container/heap"
	"time"
)

// janitor sweeps every interval until Close.
func (e *Engine) janitor(interval time.Duration) {
	defer close(e.janitorDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.sweep()
		}
	}
}

// sweep expires messages older than the TTL and drops idle topics. Its
// work under the mutex is proportional to what expires plus the number of
// emptied topics that literal subscriptions keep alive, not to the number
// of topics.
func (e *Engine) sweep() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	now := e.now()
	cutoff := now.Add(-e.ttl)
	for len(e.expiry) > 0 {
		ts := e.expiry[0]
		if ts.expiryKey.After(cutoff) {
			break
		}
		ts.expire(cutoff)
		if ts.len() > 0 {
			ts.expiryKey = ts.oldest().Time
			heap.Fix(&e.expiry, 0)
			continue
		}
		heap.Pop(&e.expiry)
		e.idle[ts] = struct{}{}
	}
	for ts := range e.idle {
		if e.index.literal(ts.name) != nil || now.Sub(ts.lastPublish) < e.ttl {
			continue // still subscribed to, or active
		}
		delete(e.idle, ts)
		delete(e.topics, ts.name)
		e.forgottenUpTo = max(e.forgottenUpTo, ts.lastSeq)
	}
}
