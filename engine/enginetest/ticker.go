package enginetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
)

// Ticker publishes to one topic of an engine at a steady pace from its own
// goroutine and records the ids, for tests in which messages go on being
// published while a client is away.
type Ticker struct {
	mu   sync.Mutex
	ids  []string
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Tick starts publishing data to topic every interval until Stop (or the
// end of the test). A failed publish fails the test and stops the ticker.
func Tick(t testing.TB, eng engine.Engine, topic string, data []byte, every time.Duration) *Ticker {
	k := &Ticker{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for {
			res, err := eng.Publish(context.Background(), engine.PublishRequest{Topic: topic, Data: data})
			if err != nil {
				t.Errorf("publishing to %s: %v", topic, err)
				return
			}
			k.mu.Lock()
			k.ids = append(k.ids, res.ID.String())
			k.mu.Unlock()
			select {
			case <-k.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	t.Cleanup(func() { k.Stop() })
	return k
}

// Count returns how many messages have been published so far.
func (k *Ticker) Count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.ids)
}

// Stop stops publishing, waits for the goroutine, and returns the ids of
// every message published, in order.
func (k *Ticker) Stop() []string {
	k.once.Do(func() { close(k.stop) })
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.ids...)
}
