package engine

import (
	"sync/atomic"
	"time"
)

// Message is a published message as it is delivered. Engines share one
// *Message between all subscriptions that receive it, so its fields must not
// be modified after it has been published.
//
// A Message also carries a small cache of its wire encodings, so a transport
// encodes it once per format rather than once per subscriber (see
// EncodingKey). The cache is safe for concurrent use.
type Message struct {
	ID          ID
	Topic       string
	Data        []byte
	ContentType string
	Event       string
	Time        time.Time

	enc [maxEncodings]atomic.Pointer[encoding]
}

// maxEncodings is how many formats a message caches at once: gRPC, the
// gateway's JSON, SSE and WebSocket, with room to spare. Further formats
// are still encoded correctly, just not cached.
const maxEncodings = 6

// EncodingKey names one wire format in a Message's encoding cache. Create
// one per format with NewEncodingKey and keep it for the process's life;
// keys are compared by identity.
type EncodingKey struct{ name string }

// NewEncodingKey returns a new, distinct key; name is for debugging only.
func NewEncodingKey(name string) *EncodingKey { return &EncodingKey{name: name} }

// String returns the key's name.
func (k *EncodingKey) String() string { return k.name }

type encoding struct {
	key *EncodingKey
	val any
}

// Encoding returns the cached encoding for key, or nil.
func (m *Message) Encoding(key *EncodingKey) any {
	for i := range m.enc {
		e := m.enc[i].Load()
		if e == nil {
			return nil
		}
		if e.key == key {
			return e.val
		}
	}
	return nil
}

// SetEncoding caches v as the encoding for key and returns the cached value:
// v, or the value another goroutine stored first (callers then use that one
// and drop theirs). When the cache is full v is returned uncached.
func (m *Message) SetEncoding(key *EncodingKey, v any) any {
	var ne *encoding
	for i := range m.enc {
		e := m.enc[i].Load()
		if e == nil {
			if ne == nil {
				ne = &encoding{key: key, val: v}
			}
			if m.enc[i].CompareAndSwap(nil, ne) {
				return v
			}
			e = m.enc[i].Load()
		}
		if e.key == key {
			return e.val
		}
	}
	return v
}
