// Package authtest mints tokens for tests of code that sits behind an
// auth.Authenticator.
package authtest

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldhq/herald/auth"
)

// Secret is an HMAC secret long enough for auth.New, for tests.
const Secret = "an HMAC secret of at least 32 bytes, for tests"

// Audience is the audience Mint puts in tokens that name none, and that
// New requires unless told another.
const Audience = "herald-test"

// New returns an Authenticator for cfg that verifies Mint's tokens: an
// empty HMACSecret becomes Secret and an empty Audience becomes Audience.
func New(t testing.TB, cfg auth.Config) *auth.Authenticator {
	t.Helper()
	if cfg.HMACSecret == "" {
		cfg.HMACSecret = Secret
	}
	if cfg.Audience == "" {
		cfg.Audience = Audience
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("test authenticator: %v", err)
	}
	return a
}

// Grant describes a test token.
type Grant struct {
	// Sub is the subject.
	Sub string
	// Expires is the exp claim. Zero means an hour from now, unless
	// NoExpiry is set.
	Expires time.Time
	// NoExpiry leaves out the exp claim.
	NoExpiry bool
	// Audience is the aud claim; empty means the package's Audience.
	Audience string
	// Issuer, when set, is the iss claim.
	Issuer string
	// Subscribe and Publish are the herald permission patterns.
	Subscribe, Publish []string
	// Secret signs the token. Empty means Secret.
	Secret string
}

// Mint returns the token g describes, signed with HS256.
func Mint(t testing.TB, g Grant) string {
	t.Helper()
	c := auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: g.Sub, Issuer: g.Issuer},
		Herald:           auth.Permissions{Subscribe: g.Subscribe, Publish: g.Publish},
	}
	switch {
	case g.NoExpiry:
	case g.Expires.IsZero():
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	default:
		c.ExpiresAt = jwt.NewNumericDate(g.Expires)
	}
	if g.Audience == "" {
		g.Audience = Audience
	}
	c.Audience = jwt.ClaimStrings{g.Audience}
	secret := g.Secret
	if secret == "" {
		secret = Secret
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatalf("minting a test token: %v", err)
	}
	return tok
}

// Soon returns an expiry one to two seconds ahead, on a whole second:
// tokens carry whole seconds, so a token minted with it expires at that
// instant. Pair it with auth.Config{Leeway: -1}.
func Soon() time.Time { return time.Now().Add(2 * time.Second).Truncate(time.Second) }
