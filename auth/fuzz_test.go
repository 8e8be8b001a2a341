package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/topic"
)

// The audience, issuer and clock of the fuzzed Authenticator. Seeds that
// should be accepted carry this aud and iss and an exp after fuzzNow.
const (
	fuzzAudience = "herald-fuzz"
	fuzzIssuer   = "https://issuer.example"
)

// fuzzNow is the fuzzed Authenticator's clock: 2026-01-01T00:00:00Z, so
// that seeds with a fixed exp behave the same on every run.
var fuzzNow = time.Unix(1767225600, 0).UTC()

// fuzzAlgs are the header algorithms a fuzzed token is made with, picked
// by an input byte. Only the HMAC ones are signed with the secret: "none"
// has no signature and RS256 is an HMAC signature under an RSA header, a
// key-confusion attempt.
var fuzzAlgs = []string{"HS256", "HS384", "HS512", "none", "RS256"}

// signRaw makes a compact JWT of any claims bytes, which need not be JSON:
// the header names alg, and the signature is the HMAC of the secret with
// the hash of alg (HS256 for algorithms that are not HMAC ones).
func signRaw(t *testing.T, alg string, claimsJSON []byte) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	text := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claimsJSON)
	if alg == "none" {
		return text + "."
	}
	method, ok := jwt.GetSigningMethod(alg).(*jwt.SigningMethodHMAC)
	if !ok {
		method = jwt.SigningMethodHS256
	}
	sig, err := method.Sign(text, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return text + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// checkRefusal fails unless err is an Unauthenticated refusal for a bad
// or expired credential.
func checkRefusal(t *testing.T, what string, err error) {
	t.Helper()
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("%s: error %v is not Unauthenticated", what, err)
	}
	if r := refusal.Reason(err); r != refusal.InvalidToken && r != refusal.TokenExpired {
		t.Fatalf("%s: refusal reason %q, want %s or %s", what, r, refusal.InvalidToken, refusal.TokenExpired)
	}
}

// checkExpanded checks patterns expanded from the claimed templates for
// subject: one per template, each the template with {sub} replaced, each
// parsing back to itself, and none covering what the same template gives
// another subject.
func checkExpanded(t *testing.T, templates []string, got []topic.Pattern, subject, other string) {
	t.Helper()
	if len(got) != len(templates) {
		t.Fatalf("%d patterns from the templates %q", len(got), templates)
	}
	for i, tpl := range templates {
		p := got[i]
		if want := strings.ReplaceAll(tpl, SubPlaceholder, subject); p.String() != want {
			t.Fatalf("template %q for sub %q gave %q, want %q", tpl, subject, p, want)
		}
		if back, err := topic.ParsePattern(p.String()); err != nil || back.String() != p.String() {
			t.Fatalf("pattern %q does not parse back: %v", p, err)
		}
		if !strings.Contains(tpl, SubPlaceholder) {
			continue
		}
		// {sub} was accepted, so the subject is one literal topic token.
		if subject == "" || strings.ContainsAny(subject, ".*>") || topic.Validate(subject) != nil {
			t.Fatalf("template %q accepted for sub %q, which is not a single topic token", tpl, subject)
		}
		if other == subject || strings.Contains(other, ".") || topic.Validate(other) != nil {
			continue
		}
		theirs, err := topic.ParsePattern(strings.ReplaceAll(tpl, SubPlaceholder, other))
		if err == nil && p.Covers(theirs) {
			t.Fatalf("template %q: %q (sub %q) covers %q (sub %q)", tpl, p, subject, theirs, other)
		}
	}
}

// FuzzAuthenticate signs arbitrary claims with the test secret and feeds
// them, a tampered copy and an arbitrary raw credential to an
// Authenticator that requires an audience and an issuer. It never panics;
// every refusal is Unauthenticated; an accepted token's identity holds
// exactly its claimed patterns, parsed, with {sub} expanded only for a
// subject that is one topic token and never reaching another subject's
// topics; and a token whose signature was altered, or whose claims were
// altered after signing, is always refused.
func FuzzAuthenticate(f *testing.F) {
	f.Add(uint8(0), []byte(`{"sub":"alice","aud":"herald-fuzz","iss":"https://issuer.example","exp":1767229200,"herald":{"subscribe":["user.{sub}","news.>"],"publish":["chat.{sub}.>"]}}`), "bob", uint16(0), "")
	f.Add(uint8(1), []byte(`{"sub":"a.b","aud":["x","herald-fuzz"],"iss":"https://issuer.example","herald":{"subscribe":["user.{sub}"]}}`), "a", uint16(7), "a.b.c")
	f.Add(uint8(3), []byte(`{"sub":"alice","aud":"herald-fuzz","iss":"https://issuer.example"}`), "", uint16(1), "Bearer x")
	a, err := New(Config{HMACSecret: testSecret, Audience: fuzzAudience, Issuer: fuzzIssuer, Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, alg uint8, claimsJSON []byte, other string, flip uint16, raw string) {
		switch id, err := a.Authenticate(raw); {
		case raw == "":
			if refusal.Reason(err) != refusal.Unauthenticated {
				t.Fatalf("no credential: error %v, want %s", err, refusal.Unauthenticated)
			}
		case err != nil:
			checkRefusal(t, "raw credential", err)
		default:
			// Only a token signed with the secret gets here.
			for _, p := range slices.Concat(id.SubscribePatterns(), id.PublishPatterns()) {
				if back, err := topic.ParsePattern(p.String()); err != nil || back.String() != p.String() {
					t.Fatalf("pattern %q of an accepted credential does not parse back: %v", p, err)
				}
			}
		}

		method := fuzzAlgs[int(alg)%len(fuzzAlgs)]
		tok := signRaw(t, method, claimsJSON)
		id, err := a.Authenticate(tok)
		if err != nil {
			checkRefusal(t, "signed claims", err)
		} else {
			if method != "HS256" && method != "HS384" && method != "HS512" {
				t.Fatalf("a token with alg %s was accepted", method)
			}
			// The claims as the parser reads them: the first JSON value.
			var c Claims
			if err := json.NewDecoder(bytes.NewReader(claimsJSON)).Decode(&c); err != nil {
				t.Fatalf("accepted claims %q do not decode: %v", claimsJSON, err)
			}
			if id.Kind != Token || id.Subject != c.Subject {
				t.Fatalf("identity %+v for claims %q", id, claimsJSON)
			}
			if c.ExpiresAt != nil && fuzzNow.After(c.ExpiresAt.Add(DefaultLeeway)) {
				t.Fatalf("accepted a token that expired at %v", c.ExpiresAt)
			}
			checkExpanded(t, c.Herald.Subscribe, id.SubscribePatterns(), c.Subject, other)
			checkExpanded(t, c.Herald.Publish, id.PublishPatterns(), c.Subject, other)
		}

		// Tampering: one bit of the signature, then the claims re-encoded
		// with a byte changed under the original signature.
		dot := strings.LastIndexByte(tok, '.')
		if b, err := base64.RawURLEncoding.DecodeString(tok[dot+1:]); err == nil && len(b) > 0 {
			b[int(flip>>3)%len(b)] ^= 1 << (flip & 7)
			bad := tok[:dot+1] + base64.RawURLEncoding.EncodeToString(b)
			if _, err := a.Authenticate(bad); err == nil || refusal.Reason(err) != refusal.InvalidToken {
				t.Fatalf("a token with an altered signature: error %v, want %s", err, refusal.InvalidToken)
			}
		}
		if len(claimsJSON) > 0 {
			changed := bytes.Clone(claimsJSON)
			changed[int(flip)%len(changed)] ^= 1 << (flip >> 13)
			parts := strings.Split(tok, ".")
			parts[1] = base64.RawURLEncoding.EncodeToString(changed)
			if _, err := a.Authenticate(strings.Join(parts, ".")); err == nil {
				t.Fatalf("claims %q altered to %q after signing were accepted", claimsJSON, changed)
			}
		}
	})
}

// FuzzPermissionsExpand expands arbitrary claimed patterns (one per line)
// for an arbitrary subject. It never panics; it refuses more patterns than
// the limit; what it accepts is one parsed pattern per template with {sub}
// replaced, and {sub} only for a subject that is one literal topic token,
// so that no holder's pattern covers another subject's topics.
func FuzzPermissionsExpand(f *testing.F) {
	f.Add("alice", "user.{sub}\nnews.>", "chat.{sub}.>", "bob")
	f.Add("a.b", "user.{sub}", "", "a")
	f.Add("*", "user.{sub}.>", "", "x")
	f.Fuzz(func(t *testing.T, subject, subscribe, publish, other string) {
		lines := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\n")
		}
		p := Permissions{Subscribe: lines(subscribe), Publish: lines(publish)}
		sub, pub, err := p.Expand(subject)
		if err != nil {
			if sub != nil || pub != nil {
				t.Fatalf("Expand returned patterns with the error %v", err)
			}
			return
		}
		if n := len(p.Subscribe) + len(p.Publish); n > maxClaimedPatterns {
			t.Fatalf("%d patterns accepted; the limit is %d", n, maxClaimedPatterns)
		}
		checkExpanded(t, p.Subscribe, sub, subject, other)
		checkExpanded(t, p.Publish, pub, subject, other)
	})
}
