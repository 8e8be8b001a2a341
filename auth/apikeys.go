package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// APIKeysFile is the format of the API keys file: services that publish
// (or subscribe) with a long-lived key instead of a token.
//
//	{"keys": [
//	  {"name": "billing", "key": "…at least 16 characters…", "publish": ["orders.>"]},
//	  {"name": "audit", "sha256": "<hex SHA-256 of the key>", "subscribe": [">"]},
//	  {"name": "bridge-1", "sha256": "…", "subscribe": [">"], "relay": true}
//	]}
//
// A key is given either in clear or, better, as the hex SHA-256 of the key
// so that the file does not hold the secret itself. Names must be unique:
// a key's publishes are rate limited and logged under its name.
type APIKeysFile struct {
	// Keys lists the keys.
	Keys []APIKeyEntry `json:"keys"`
}

// APIKeyEntry is one key of the API keys file.
type APIKeyEntry struct {
	// Name identifies the key's holder; it is the identity's subject.
	Name string `json:"name"`
	// Key is the key in clear. Exactly one of Key and SHA256 is set.
	Key string `json:"key,omitempty"`
	// SHA256 is the hex SHA-256 of the key.
	SHA256 string `json:"sha256,omitempty"`
	// Relay marks the key of a bridge node (herald bridge --upstream-token):
	// its streams carry many browsers' subscriptions, so the core does not
	// hold them to per-address connection and per-connection subscribe
	// limits, which the bridge enforces for each of its own clients.
	Relay bool `json:"relay,omitempty"`
	Permissions
}

// minAPIKeyLen is the shortest key accepted in clear.
const minAPIKeyLen = 16

// apiKeys maps the SHA-256 of each key to its identity.
type apiKeys map[[sha256.Size]byte]*Identity

// parseAPIKeys parses an API keys file.
func parseAPIKeys(data []byte) (apiKeys, error) {
	var f APIKeysFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("API keys file: %w", err)
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("API keys file: no keys")
	}
	keys := make(apiKeys, len(f.Keys))
	names := make(map[string]bool, len(f.Keys))
	for i, e := range f.Keys {
		if e.Name == "" {
			return nil, fmt.Errorf("API keys file: keys[%d] has no name", i)
		}
		if names[e.Name] {
			return nil, fmt.Errorf("API keys file: name %q appears twice", e.Name)
		}
		names[e.Name] = true
		var sum [sha256.Size]byte
		switch {
		case e.Key != "" && e.SHA256 != "":
			return nil, fmt.Errorf("API keys file: key %q has both key and sha256; give one", e.Name)
		case e.Key != "":
			if len(e.Key) < minAPIKeyLen {
				return nil, fmt.Errorf("API keys file: key %q is shorter than %d characters", e.Name, minAPIKeyLen)
			}
			sum = sha256.Sum256([]byte(e.Key))
		case e.SHA256 != "":
			b, err := hex.DecodeString(e.SHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("API keys file: key %q: sha256 is not 64 hex digits", e.Name)
			}
			copy(sum[:], b)
		default:
			return nil, fmt.Errorf("API keys file: key %q has neither key nor sha256", e.Name)
		}
		if _, dup := keys[sum]; dup {
			return nil, fmt.Errorf("API keys file: key %q is the same key as another", e.Name)
		}
		sub, pub, err := e.Permissions.Expand(e.Name)
		if err != nil {
			return nil, fmt.Errorf("API keys file: key %q: %w", e.Name, err)
		}
		id := NewIdentity(APIKey, e.Name, timeZero, sub, pub)
		id.Relay = e.Relay
		keys[sum] = id
	}
	return keys, nil
}

// lookup returns the identity of a presented key, if it is one. Keys are
// compared by their SHA-256, so the time taken says nothing about how
// much of a guess was right.
func (k apiKeys) lookup(credential string) (*Identity, bool) {
	id, ok := k[sha256.Sum256([]byte(credential))]
	return id, ok
}
