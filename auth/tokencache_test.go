package auth

import (
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/internal/refusal"
)

// TestVerifiedTokensAreRemembered: a token presented again is taken from
// the cache (the same identity comes back, not a new one verified again),
// until its expiry, the cache's age limit, or a reload of the keys, after
// which it is verified again — and refused if the new keys do not sign it.
func TestVerifiedTokensAreRemembered(t *testing.T) {
	k := newKeys(t)
	path := writeFile(t, "keys.pem", publicPEM(t, &k.ec.PublicKey))
	now := testNow()
	a, err := New(Config{PublicKeyFile: path, ReloadInterval: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c := claims("alice", time.Hour, []string{"user.{sub}"}, nil)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
	tok := sign(t, jwt.SigningMethodES256, k.ec, "", c)

	first, err := a.Authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.Authenticate(tok)
	if err != nil || again != first {
		t.Fatalf("second use: %p, %v; want the remembered identity %p", again, err, first)
	}

	// Refusals are not remembered.
	forged := tok[:len(tok)-4] + "AAAA"
	wantRefusal(t, errOf(a.Authenticate(forged)), codes.Unauthenticated, refusal.InvalidToken)
	if n := remembered(&a.verified); n != 1 {
		t.Fatalf("%d tokens remembered, want only the one that verified", n)
	}

	// Past the age limit the token is verified again.
	now = now.Add(tokenCacheAge)
	fresh, err := a.Authenticate(tok)
	if err != nil || fresh == first {
		t.Fatalf("after %v: %p, %v; want a newly verified identity", tokenCacheAge, fresh, err)
	}

	// The keys rotate: the remembered token is no longer accepted.
	writeAt(t, path, publicPEM(t, &k.ec2.PublicKey), now.Add(time.Minute))
	now = now.Add(2 * time.Second)
	wantRefusal(t, errOf(a.Authenticate(tok)), codes.Unauthenticated, refusal.InvalidToken)
}

// TestRememberedTokenExpires: a remembered token is refused from its exp,
// as one verified afresh would be.
func TestRememberedTokenExpires(t *testing.T) {
	now := testNow()
	a, err := New(Config{HMACSecret: testSecret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c := claims("alice", time.Minute, []string{"user.{sub}"}, nil)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Minute))
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c)
	if _, err := a.Authenticate(tok); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	wantRefusal(t, errOf(a.Authenticate(tok)), codes.Unauthenticated, refusal.TokenExpired)
}

func TestTokenCacheIsBounded(t *testing.T) {
	var c tokenCache
	now := testNow()
	id := &Identity{Kind: Token}
	for i := range tokenCacheSize + 10 {
		c.put("token-"+strconv.Itoa(i), keySnapshot{}, id, now)
	}
	if n := remembered(&c); n != tokenCacheSize {
		t.Fatalf("%d entries, want the bound %d", n, tokenCacheSize)
	}
	long := string(make([]byte, maxCachedToken+1))
	c.put(long, keySnapshot{}, id, now)
	if _, ok := c.get(long, keySnapshot{}, now); ok {
		t.Fatal("a token over the size bound was remembered")
	}
	// An entry is tied to the key sets it verified against.
	c.put("tied", keySnapshot{pem: &keySet{}}, id, now)
	if _, ok := c.get("tied", keySnapshot{pem: &keySet{}}, now); ok {
		t.Fatal("an entry matched other key sets")
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	k := newKeys(b)
	path := writeFile(b, "keys.pem", publicPEM(b, &k.ec.PublicKey))
	a, err := New(Config{PublicKeyFile: path})
	if err != nil {
		b.Fatal(err)
	}
	tok := sign(b, jwt.SigningMethodES256, k.ec, "", claims("alice", time.Hour, []string{"user.{sub}"}, nil))
	b.Run("same-token", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Authenticate(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			a.verified = tokenCache{}
			if _, err := a.Authenticate(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// remembered returns the number of tokens c remembers.
func remembered(c *tokenCache) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
