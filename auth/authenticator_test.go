package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/topic"
)

func pat(s string) topic.Pattern { return topic.MustParsePattern(s) }

func newHMAC(t *testing.T, cfg Config) *Authenticator {
	t.Helper()
	cfg.HMACSecret = testSecret
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestOpenAllowsEverything(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Open() {
		t.Fatal("an Authenticator with nothing configured must be open")
	}
	for _, cred := range []string{"", "garbage", "a.b.c"} {
		id, err := a.Authenticate(cred)
		if err != nil {
			t.Fatalf("Authenticate(%q) on an open Authenticator: %v", cred, err)
		}
		if !id.CanSubscribe(pat(">")) || !id.CanPublish("any.topic") {
			t.Error("the open identity must subscribe and publish everywhere")
		}
	}
	if _, err := New(Config{AllowAnonymous: []string{"news.>"}}); err == nil {
		t.Error("AllowAnonymous without a credential setting must be refused")
	}
}

func TestHMACToken(t *testing.T) {
	a := newHMAC(t, Config{})
	if a.Open() {
		t.Fatal("an Authenticator with a secret must not be open")
	}
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "",
		claims("alice", time.Hour, []string{"user.{sub}", "news.>"}, []string{"chat.{sub}.>"}))
	id, err := a.Authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Kind != Token || id.Subject != "alice" || id.Expires.IsZero() {
		t.Errorf("identity = %+v", id)
	}
	for _, tc := range []struct {
		p    string
		want bool
	}{
		{"user.alice", true}, {"user.bob", false}, {"user.*", false}, {"user.>", false},
		{"news.sport", true}, {"news.>", true}, {"news", false}, {">", false},
	} {
		if got := id.CanSubscribe(pat(tc.p)); got != tc.want {
			t.Errorf("CanSubscribe(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if !id.CanPublish("chat.alice.room1") || id.CanPublish("chat.bob.room1") || id.CanPublish("user.alice") {
		t.Error("publish permissions do not follow the claim")
	}
	wantRefusal(t, id.AuthorizeSubscribe([]topic.Pattern{pat("user.alice"), pat("user.bob")}),
		codes.PermissionDenied, refusal.PermissionDenied)
	wantRefusal(t, id.AuthorizePublish("user.alice"), codes.PermissionDenied, refusal.PermissionDenied)
	if err := id.AuthorizeSubscribe([]topic.Pattern{pat("user.alice"), pat("news.*")}); err != nil {
		t.Errorf("AuthorizeSubscribe of allowed topics: %v", err)
	}
	if id.RateKey() != "token:alice" {
		t.Errorf("RateKey = %q", id.RateKey())
	}
	if !strings.Contains(id.AuthorizePublish("x").Error(), `"x"`) {
		t.Error("the refusal must name the topic")
	}
}

func TestTokenRefusals(t *testing.T) {
	a := newHMAC(t, Config{Audience: "herald", Issuer: "https://id.example.com", Leeway: -1})
	good := func() Claims {
		c := claims("alice", time.Hour, []string{"user.{sub}"}, nil)
		c.Audience = jwt.ClaimStrings{"herald"}
		c.Issuer = "https://id.example.com"
		return c
	}
	hs := func(c Claims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	if _, err := a.Authenticate(hs(good())); err != nil {
		t.Fatalf("good token: %v", err)
	}

	expired := good()
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	notYet := good()
	notYet.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
	wrongAud := good()
	wrongAud.Audience = jwt.ClaimStrings{"other"}
	noAud := good()
	noAud.Audience = nil
	wrongIss := good()
	wrongIss.Issuer = "https://evil.example.com"
	badPattern := good()
	badPattern.Herald.Publish = []string{"a..b"}
	dotSub := good()
	dotSub.Subject = "bob.x"
	wildSub := good()
	wildSub.Subject = "*"
	noSub := good()
	noSub.Subject = ""

	tampered := hs(good())
	parts := strings.Split(tampered, ".")
	other := strings.Split(hs(claims("mallory", time.Hour, []string{">"}, nil)), ".")
	tampered = parts[0] + "." + other[1] + "." + parts[2]

	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", good())
	otherSecret := sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("z", 40)), "", good())

	for name, tc := range map[string]struct {
		tok    string
		reason string
		msg    string
	}{
		"expired":          {hs(expired), refusal.TokenExpired, "expired"},
		"not yet valid":    {hs(notYet), refusal.InvalidToken, "not valid yet"},
		"wrong audience":   {hs(wrongAud), refusal.InvalidToken, "audience"},
		"missing audience": {hs(noAud), refusal.InvalidToken, "audience"},
		"wrong issuer":     {hs(wrongIss), refusal.InvalidToken, "issuer"},
		"bad signature":    {otherSecret, refusal.InvalidToken, "signature"},
		"tampered payload": {tampered, refusal.InvalidToken, "signature"},
		"alg none":         {none, refusal.InvalidToken, ""},
		"malformed":        {"not-a-token", refusal.InvalidToken, "malformed"},
		"bad pattern":      {hs(badPattern), refusal.InvalidToken, "herald.publish[0]"},
		"dotted sub":       {hs(dotSub), refusal.InvalidToken, "single topic token"},
		"wildcard sub":     {hs(wildSub), refusal.InvalidToken, "single topic token"},
		"no sub":           {hs(noSub), refusal.InvalidToken, "no sub"},
		"huge":             {strings.Repeat("a", maxTokenLen+1), refusal.InvalidToken, "limit"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Authenticate(tc.tok)
			wantRefusal(t, err, codes.Unauthenticated, tc.reason)
			if err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestMissingCredential(t *testing.T) {
	a := newHMAC(t, Config{})
	_, err := a.Authenticate("")
	wantRefusal(t, err, codes.Unauthenticated, refusal.Unauthenticated)
	for _, where := range []string{"authorization: Bearer", "herald_token", "access_token"} {
		if !strings.Contains(err.Error(), where) {
			t.Errorf("message %q does not say where a token goes (%s)", err, where)
		}
	}
}

func TestAnonymous(t *testing.T) {
	a := newHMAC(t, Config{AllowAnonymous: []string{"public.>"}})
	id, err := a.Authenticate("")
	if err != nil {
		t.Fatal(err)
	}
	if id.Kind != Anonymous || !id.CanSubscribe(pat("public.news")) || id.CanPublish("public.news") {
		t.Errorf("anonymous identity %+v: want subscribe public.> only", id)
	}
	wantRefusal(t, id.AuthorizeSubscribe([]topic.Pattern{pat("private.x")}), codes.Unauthenticated, refusal.Unauthenticated)
	if id.RateKey() != "" {
		t.Error("an anonymous identity has no rate key of its own")
	}
	// A token holder may read what anyone may read.
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims("alice", time.Hour, []string{"user.{sub}"}, nil))
	holder, err := a.Authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !holder.CanSubscribe(pat("public.news")) || !holder.CanSubscribe(pat("user.alice")) {
		t.Error("a token holder must also get the anonymous patterns")
	}
	// A bad token is not silently downgraded to anonymous.
	_, err = a.Authenticate("x.y.z")
	wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
	if _, err := New(Config{HMACSecret: testSecret, AllowAnonymous: []string{"a.{sub}"}}); err == nil {
		t.Error("an anonymous pattern with {sub} must be refused")
	}
}

func TestShortSecretRefused(t *testing.T) {
	_, err := New(Config{HMACSecret: "short"})
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("New with a short secret: %v", err)
	}
}

func TestPublicKeyFile(t *testing.T) {
	k := newKeys(t)
	var pemData []byte
	pemData = append(pemData, publicPEM(t, &k.rsa.PublicKey)...)
	pemData = append(pemData, publicPEM(t, &k.ec.PublicKey)...)
	pemData = append(pemData, publicPEM(t, k.edPk)...)
	a, err := New(Config{PublicKeyFile: writeFile(t, "keys.pem", pemData)})
	if err != nil {
		t.Fatal(err)
	}
	c := claims("alice", time.Hour, []string{"user.{sub}"}, nil)
	for name, tok := range map[string]string{
		"RS256": sign(t, jwt.SigningMethodRS256, k.rsa, "", c),
		"PS384": sign(t, jwt.SigningMethodPS384, k.rsa, "", c),
		"ES256": sign(t, jwt.SigningMethodES256, k.ec, "", c),
		"EdDSA": sign(t, jwt.SigningMethodEdDSA, k.ed, "", c),
	} {
		if id, err := a.Authenticate(tok); err != nil || id.Subject != "alice" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A key that is not in the file.
	wantRefusal(t, errOf(a.Authenticate(sign(t, jwt.SigningMethodES256, k.ec2, "", c))), codes.Unauthenticated, refusal.InvalidToken)
	// HMAC with the public key as the secret: the classic algorithm
	// confusion. No HMAC secret is configured, so HS* is refused.
	confused := sign(t, jwt.SigningMethodHS256, publicPEM(t, &k.rsa.PublicKey), "", c)
	wantRefusal(t, errOf(a.Authenticate(confused)), codes.Unauthenticated, refusal.InvalidToken)
}

func errOf(_ *Identity, err error) error { return err }

func TestPublicKeyFileRefusals(t *testing.T) {
	k := newKeys(t)
	der, _ := x509MarshalPKCS8(t, k.ec)
	for name, data := range map[string][]byte{
		"empty":       nil,
		"private key": der,
		"garbage":     []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
	} {
		if _, err := New(Config{PublicKeyFile: writeFile(t, "k.pem", data)}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(Config{PublicKeyFile: "/nonexistent/keys.pem"}); err == nil {
		t.Error("a missing key file must fail New")
	}
}

func jwksOf(t *testing.T, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJWKSFileKidAndReload(t *testing.T) {
	k := newKeys(t)
	path := writeFile(t, "jwks.json", jwksOf(t,
		jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "one", Algorithm: "ES256", Use: "sig"},
		jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
	))
	now := time.Now()
	clock := func() time.Time { return now }
	a, err := New(Config{JWKSFile: path, ReloadInterval: time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	c := claims("alice", 24*time.Hour, []string{"user.{sub}"}, nil)
	if _, err := a.Authenticate(sign(t, jwt.SigningMethodES256, k.ec, "one", c)); err != nil {
		t.Fatalf("ES256 kid one: %v", err)
	}
	if _, err := a.Authenticate(sign(t, jwt.SigningMethodRS256, k.rsa, "", c)); err != nil {
		t.Fatalf("RS256 without kid: %v", err)
	}
	// A kid naming a key of another type, and an unknown kid.
	wantRefusal(t, errOf(a.Authenticate(sign(t, jwt.SigningMethodES256, k.ec, "rsa", c))), codes.Unauthenticated, refusal.InvalidToken)
	two := sign(t, jwt.SigningMethodES256, k.ec2, "two", c)
	wantRefusal(t, errOf(a.Authenticate(two)), codes.Unauthenticated, refusal.InvalidToken)

	// Rotate: the file now holds key two only.
	writeAt(t, path, jwksOf(t, jose.JSONWebKey{Key: &k.ec2.PublicKey, KeyID: "two", Algorithm: "ES256", Use: "sig"}), now.Add(time.Minute))
	now = now.Add(2 * time.Second)
	if _, err := a.Authenticate(two); err != nil {
		t.Fatalf("after rotation, kid two: %v", err)
	}
	wantRefusal(t, errOf(a.Authenticate(sign(t, jwt.SigningMethodES256, k.ec, "one", c))), codes.Unauthenticated, refusal.InvalidToken)

	// A broken file keeps the last good keys.
	writeAt(t, path, []byte("{broken"), now.Add(2*time.Minute))
	now = now.Add(2 * time.Second)
	if _, err := a.Authenticate(two); err != nil {
		t.Fatalf("after a broken rotation, kid two: %v", err)
	}
}

func TestJWKSRefusals(t *testing.T) {
	k := newKeys(t)
	for name, data := range map[string][]byte{
		"private": jwksOf(t, jose.JSONWebKey{Key: k.ec, KeyID: "p", Algorithm: "ES256", Use: "sig"}),
		"dup kid": jwksOf(t,
			jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "a", Algorithm: "ES256", Use: "sig"},
			jose.JSONWebKey{Key: &k.ec2.PublicKey, KeyID: "a", Algorithm: "ES256", Use: "sig"}),
		"only enc": jwksOf(t, jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "e", Algorithm: "ECDH-ES", Use: "enc"}),
		"not json": []byte("nope"),
	} {
		if _, err := New(Config{JWKSFile: writeFile(t, "jwks.json", data)}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestJWKSAlgorithmBindsKey(t *testing.T) {
	k := newKeys(t)
	path := writeFile(t, "jwks.json", jwksOf(t,
		jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "pss", Algorithm: "PS256", Use: "sig"},
	))
	a, err := New(Config{JWKSFile: path})
	if err != nil {
		t.Fatal(err)
	}
	c := claims("alice", time.Hour, []string{"user.{sub}"}, nil)
	if _, err := a.Authenticate(sign(t, jwt.SigningMethodPS256, k.rsa, "pss", c)); err != nil {
		t.Fatalf("PS256 with its key: %v", err)
	}
	for name, tok := range map[string]string{
		"RS256 with the PS256 key's kid": sign(t, jwt.SigningMethodRS256, k.rsa, "pss", c),
		"RS256 without kid":              sign(t, jwt.SigningMethodRS256, k.rsa, "", c),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Authenticate(tok)
			wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
		})
	}
}

func TestLongKidIsNotEchoed(t *testing.T) {
	k := newKeys(t)
	a, err := New(Config{JWKSFile: writeFile(t, "jwks.json", jwksOf(t,
		jose.JSONWebKey{Key: &k.ec.PublicKey, KeyID: "one", Algorithm: "ES256", Use: "sig"}))})
	if err != nil {
		t.Fatal(err)
	}
	kid := strings.Repeat("k", 4000)
	_, err = a.Authenticate(sign(t, jwt.SigningMethodES256, k.ec, kid, claims("alice", time.Hour, nil, nil)))
	wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
	if len(err.Error()) > 300 {
		t.Errorf("refusal of %d bytes echoes the token's kid", len(err.Error()))
	}
}

func TestExpiredWithinLeewayRefused(t *testing.T) {
	a := newHMAC(t, Config{Leeway: time.Minute})
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims("alice", -2*time.Second, []string{"user.{sub}"}, nil))
	_, err := a.Authenticate(tok)
	wantRefusal(t, err, codes.Unauthenticated, refusal.TokenExpired)
	notYet := claims("alice", time.Hour, nil, nil)
	notYet.NotBefore = jwt.NewNumericDate(time.Now().Add(30 * time.Second))
	if _, err := a.Authenticate(sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", notYet)); err != nil {
		t.Errorf("nbf within the leeway: %v", err)
	}
}
