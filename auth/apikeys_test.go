package auth

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/internal/refusal"
)

func x509MarshalPKCS8(t *testing.T, k *ecdsa.PrivateKey) ([]byte, error) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeAt writes data to path and sets its modification time.
func writeAt(t *testing.T, path string, data []byte, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

const billingKey = "billing-key-0123456789"

func apiKeysJSON(auditKey string) string {
	sum := sha256.Sum256([]byte(auditKey))
	return `{"keys": [
		{"name": "billing", "key": "` + billingKey + `", "publish": ["orders.>"]},
		{"name": "audit", "sha256": "` + hex.EncodeToString(sum[:]) + `", "subscribe": [">"], "relay": true}
	]}`
}

func TestAPIKeys(t *testing.T) {
	path := writeFile(t, "keys.json", []byte(apiKeysJSON("audit-key-abcdefghijkl")))
	now := time.Now()
	a, err := New(Config{APIKeysFile: path, HMACSecret: testSecret, ReloadInterval: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	billing, err := a.Authenticate(billingKey)
	if err != nil {
		t.Fatal(err)
	}
	if billing.Kind != APIKey || billing.Subject != "billing" || !billing.Expires.IsZero() || billing.RateKey() != "api_key:billing" {
		t.Errorf("billing identity = %+v", billing)
	}
	if !billing.CanPublish("orders.eu.1") || billing.CanPublish("users.x") || billing.CanSubscribe(pat("orders.eu")) {
		t.Error("billing permissions do not follow the file")
	}
	audit, err := a.Authenticate("audit-key-abcdefghijkl")
	if err != nil || !audit.CanSubscribe(pat(">")) || audit.CanPublish("x") || !audit.Relay || billing.Relay {
		t.Fatalf("audit: %v %+v", err, audit)
	}
	wantRefusal(t, errOf(a.Authenticate("unknown-key-000000000")), codes.Unauthenticated, refusal.InvalidToken)

	// Tokens still work beside API keys.
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims("alice", time.Hour, []string{"user.{sub}"}, nil))
	if _, err := a.Authenticate(tok); err != nil {
		t.Errorf("token beside API keys: %v", err)
	}

	// Rotating the audit key: the old one stops working.
	writeAt(t, path, []byte(apiKeysJSON("audit-key-rotated-000000")), now.Add(time.Minute))
	now = now.Add(2 * time.Second)
	wantRefusal(t, errOf(a.Authenticate("audit-key-abcdefghijkl")), codes.Unauthenticated, refusal.InvalidToken)
	if _, err := a.Authenticate("audit-key-rotated-000000"); err != nil {
		t.Errorf("rotated key: %v", err)
	}
}

func TestAPIKeysOnlyRefusesTokens(t *testing.T) {
	a, err := New(Config{APIKeysFile: writeFile(t, "keys.json", []byte(apiKeysJSON("audit-key-abcdefghijkl")))})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims("alice", time.Hour, []string{">"}, []string{">"}))
	wantRefusal(t, errOf(a.Authenticate(tok)), codes.Unauthenticated, refusal.InvalidToken)
	wantRefusal(t, errOf(a.Authenticate("")), codes.Unauthenticated, refusal.Unauthenticated)
}

func TestAPIKeysFileRefusals(t *testing.T) {
	for name, data := range map[string]string{
		"no keys":      `{"keys": []}`,
		"no name":      `{"keys": [{"key": "0123456789abcdefgh"}]}`,
		"dup name":     `{"keys": [{"name": "a", "key": "0123456789abcdefgh"}, {"name": "a", "key": "0123456789abcdefgX"}]}`,
		"dup key":      `{"keys": [{"name": "a", "key": "0123456789abcdefgh"}, {"name": "b", "key": "0123456789abcdefgh"}]}`,
		"short key":    `{"keys": [{"name": "a", "key": "short"}]}`,
		"both":         `{"keys": [{"name": "a", "key": "0123456789abcdefgh", "sha256": "00"}]}`,
		"neither":      `{"keys": [{"name": "a"}]}`,
		"bad sha":      `{"keys": [{"name": "a", "sha256": "xyz"}]}`,
		"bad pattern":  `{"keys": [{"name": "a", "key": "0123456789abcdefgh", "publish": ["a..b"]}]}`,
		"unknown":      `{"keys": [{"name": "a", "key": "0123456789abcdefgh", "publsh": [">"]}]}`,
		"not json":     `nope`,
		"name for sub": `{"keys": [{"name": "a.b", "key": "0123456789abcdefgh", "publish": ["x.{sub}"]}]}`,
	} {
		_, err := New(Config{APIKeysFile: writeFile(t, "keys.json", []byte(data))})
		if err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if !strings.Contains(err.Error(), "API keys file") {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}
