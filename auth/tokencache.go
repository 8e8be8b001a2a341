package auth

import (
	"sync"
	"time"
)

// Bounds of the verified-token cache.
const (
	// tokenCacheSize is the most tokens remembered; a new one then
	// replaces an arbitrary other.
	tokenCacheSize = 4096
	// maxCachedToken is the longest token remembered, so that the cache
	// holds at most tokenCacheSize × maxCachedToken bytes of tokens.
	maxCachedToken = 4 << 10
	// tokenCacheAge is how long a token is remembered at most, even when
	// it expires later or never.
	tokenCacheAge = 10 * time.Minute
)

// keySnapshot is the public key sets in force at one moment: the loaded
// PEM and JWKS files, each a pointer that a reload replaces (nil when not
// configured). The HMAC secret never changes.
type keySnapshot struct {
	pem, jwks *keySet
}

// tokenCache remembers the identities of tokens that verified, keyed by
// the whole token, so that a token presented again is not verified again:
// a service publishing with one token, or an HTTP request whose credential
// the gateway checks before the service does. Signature checks with public
// keys cost tens of microseconds each; a hit costs a map lookup.
//
// Only tokens that verified are remembered, never refusals, so forged
// tokens cannot fill the cache. An entry is tied to the key sets it
// verified against and is not used once a key file is reloaded; it is
// forgotten tokenCacheAge after it was verified. Expiry is checked on
// every use by the caller.
//
// The zero tokenCache is ready to use and safe for concurrent use.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]cachedToken
}

// cachedToken is one remembered token.
type cachedToken struct {
	id       *Identity
	keys     keySnapshot // what it verified against
	verified time.Time
}

// get returns the identity of raw if it verified against keys less than
// tokenCacheAge before now.
func (c *tokenCache) get(raw string, keys keySnapshot, now time.Time) (*Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[raw]
	if !ok {
		return nil, false
	}
	if e.keys != keys || now.Sub(e.verified) >= tokenCacheAge || now.Before(e.verified) {
		delete(c.entries, raw)
		return nil, false
	}
	return e.id, true
}

// put remembers that raw verified against keys at now as id.
func (c *tokenCache) put(raw string, keys keySnapshot, id *Identity, now time.Time) {
	if len(raw) > maxCachedToken {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]cachedToken)
	}
	if _, ok := c.entries[raw]; !ok && len(c.entries) >= tokenCacheSize {
		for k := range c.entries { // map order: an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[raw] = cachedToken{id: id, keys: keys, verified: now}
}
