package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/refusal"
)

// testSecret is an HMAC secret long enough for New.
const testSecret = "0123456789abcdef0123456789abcdef-test"

// claims builds token claims for sub with the given permissions, expiring
// in ttl (no exp when ttl is 0).
func claims(sub string, ttl time.Duration, subscribe, publish []string) Claims {
	c := Claims{Herald: Permissions{Subscribe: subscribe, Publish: publish}}
	c.Subject = sub
	if ttl != 0 {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(ttl))
	}
	return c
}

// sign signs c with method and key, setting kid when not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

// writeFile writes data to a new file in a temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// publicPEM encodes a public key as a PUBLIC KEY PEM block.
func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// keys holds one private key of each kind.
type keys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	ec2  *ecdsa.PrivateKey // a second ECDSA key, for kid tests
	edPk ed25519.PublicKey
}

func newKeys(t testing.TB) keys {
	t.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keys{rsa: r, ec: ec, ed: sk, ec2: ec2, edPk: pk}
}

// wantRefusal checks that err is a refusal with the code and reason.
func wantRefusal(t testing.TB, err error, code codes.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %s", code, reason)
	}
	if got := status.Code(err); got != code {
		t.Errorf("code = %v (%v), want %v", got, err, code)
	}
	if got := refusal.Reason(err); got != reason {
		t.Errorf("reason = %q (%v), want %q", got, err, reason)
	}
}

func testNow() time.Time { return time.Unix(1_800_000_000, 0) }
