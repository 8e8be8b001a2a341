package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/internal/reload"
	"github.com/heraldhq/herald/topic"
)

// MinHMACSecretLen is the shortest HMAC secret accepted, in bytes: a
// shorter one can be brute-forced from any token signed with it.
const MinHMACSecretLen = 32

// DefaultLeeway is the clock skew allowed when checking nbf and iat.
const DefaultLeeway = 5 * time.Second

// maxTokenLen bounds a credential; longer ones are refused unparsed.
const maxTokenLen = 16 << 10

// timeZero is the Expires of a credential that does not expire.
var timeZero time.Time

// Config configures an Authenticator. With none of HMACSecret,
// PublicKeyFile, JWKSFile and APIKeysFile set, the Authenticator is open.
type Config struct {
	// HMACSecret verifies HS256/HS384/HS512 tokens; at least
	// MinHMACSecretLen bytes.
	HMACSecret string
	// PublicKeyFile is a PEM file of public keys (or certificates) that
	// verify RS*, PS*, ES* and EdDSA tokens. Reloaded when it changes.
	PublicKeyFile string
	// JWKSFile is a JSON Web Key Set file of public keys; a token's kid
	// picks its key. Reloaded when it changes.
	JWKSFile string
	// Audience, when set, must be in a token's aud claim.
	Audience string
	// Issuer, when set, must be a token's iss claim.
	Issuer string
	// APIKeysFile is a JSON file of API keys (see APIKeysFile). Reloaded
	// when it changes.
	APIKeysFile string
	// AllowAnonymous lists the patterns clients without a credential may
	// subscribe to (they may never publish). Holders of credentials may
	// subscribe to them too. Ignored by an open Authenticator.
	AllowAnonymous []string
	// Leeway is the clock skew allowed on nbf and iat. Default 5s;
	// negative means none. exp has none: a token is refused from its exp.
	Leeway time.Duration
	// ReloadInterval is how often the key files are looked at for
	// changes. Default 5s.
	ReloadInterval time.Duration
	// OnReloadError receives a key file change that could not be used;
	// the previous keys stay in force. Default: ignored.
	OnReloadError func(error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Enabled reports whether cfg configures any credential, so that an
// Authenticator built from it is not open.
func (cfg Config) Enabled() bool {
	return cfg.HMACSecret != "" || cfg.PublicKeyFile != "" || cfg.JWKSFile != "" || cfg.APIKeysFile != ""
}

// Authenticator verifies credentials. It is safe for concurrent use.
type Authenticator struct {
	open      bool
	hmac      []byte
	pem       *reload.Value[*keySet]
	jwks      *reload.Value[*keySet]
	verified  tokenCache // tokens that verified, so that they are not verified again
	apiKeys   *reload.Value[apiKeys]
	anonymous *Identity // nil: anonymous clients are refused
	public    []topic.Pattern
	parser    *jwt.Parser
	hasTokens bool
	now       func() time.Time
}

// New returns an Authenticator for cfg, reading its key files. An
// unusable setting or file is an error.
func New(cfg Config) (*Authenticator, error) {
	if !cfg.Enabled() {
		if len(cfg.AllowAnonymous) > 0 {
			return nil, errors.New("auth: allowing anonymous access only makes sense with a credential setting (HMAC secret, public key, JWKS or API keys file)")
		}
		return &Authenticator{open: true}, nil
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	a := &Authenticator{now: cfg.Now}
	ropts := reload.Options{Interval: cfg.ReloadInterval, OnError: cfg.OnReloadError, Now: cfg.Now}
	var methods []string
	if cfg.HMACSecret != "" {
		if len(cfg.HMACSecret) < MinHMACSecretLen {
			return nil, fmt.Errorf("auth: the HMAC secret has %d bytes; at least %d are required", len(cfg.HMACSecret), MinHMACSecretLen)
		}
		a.hmac = []byte(cfg.HMACSecret)
		methods = append(methods, "HS256", "HS384", "HS512")
	}
	var err error
	if cfg.PublicKeyFile != "" {
		a.pem, err = reload.Load([]string{cfg.PublicKeyFile}, func(c [][]byte) (*keySet, error) { return fresh(parsePEMKeys(c[0])) }, ropts)
		if err != nil {
			return nil, fmt.Errorf("auth: public key file %s: %w", cfg.PublicKeyFile, err)
		}
	}
	if cfg.JWKSFile != "" {
		a.jwks, err = reload.Load([]string{cfg.JWKSFile}, func(c [][]byte) (*keySet, error) { return fresh(parseJWKS(c[0])) }, ropts)
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS file %s: %w", cfg.JWKSFile, err)
		}
	}
	if a.pem != nil || a.jwks != nil {
		methods = append(methods, "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
			"ES256", "ES384", "ES512", "EdDSA")
	}
	if cfg.APIKeysFile != "" {
		a.apiKeys, err = reload.Load([]string{cfg.APIKeysFile}, func(c [][]byte) (apiKeys, error) { return parseAPIKeys(c[0]) }, ropts)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	a.hasTokens = len(methods) > 0
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	a.parser = jwt.NewParser(opts...)
	if len(cfg.AllowAnonymous) > 0 {
		pats, err := expand("allow-anonymous", cfg.AllowAnonymous, "")
		if err != nil {
			return nil, fmt.Errorf("auth: anonymous patterns: %w", err)
		}
		a.public = pats
		a.anonymous = NewIdentity(Anonymous, "", timeZero, pats, nil)
	}
	return a, nil
}

// Open reports whether the Authenticator lets everyone do everything:
// nothing was configured.
func (a *Authenticator) Open() bool { return a.open }

// Authenticate verifies a credential ("" for none) and returns whom it
// identifies. The error is a *refusal.Error: Unauthenticated with reason
// unauthenticated, invalid_token or token_expired.
func (a *Authenticator) Authenticate(credential string) (*Identity, error) {
	if a.open {
		return openIdentity, nil
	}
	if credential == "" {
		if a.anonymous != nil {
			return a.anonymous, nil
		}
		return nil, refusal.New(codes.Unauthenticated, refusal.Unauthenticated,
			"authentication required: present a token or API key as \"authorization: Bearer …\" (or, in browsers, the herald_token cookie or the access_token query parameter)")
	}
	if len(credential) > maxTokenLen {
		return nil, invalid(fmt.Sprintf("credential of %d bytes; the limit is %d", len(credential), maxTokenLen))
	}
	if a.apiKeys != nil {
		if id, ok := a.apiKeys.Get().lookup(credential); ok {
			return a.withPublic(id), nil
		}
		if !a.hasTokens || strings.Count(credential, ".") != 2 {
			return nil, invalid("unknown API key")
		}
	}
	if !a.hasTokens {
		return nil, invalid("unknown API key")
	}
	return a.verifyToken(credential)
}

// verifyToken verifies a JWT and builds its identity. A token that
// verified before against the same keys is taken from the cache instead
// (its expiry is checked all the same).
func (a *Authenticator) verifyToken(raw string) (*Identity, error) {
	now := a.now()
	// The keys are read before the token is verified with them, and the
	// cache entry is tied to them: after a reload, the entry no longer
	// matches and the token is verified again with the new keys.
	keys := a.keys()
	if id, ok := a.verified.get(raw, keys, now); ok {
		if id.Expired(now) {
			return nil, ExpiredError()
		}
		return id, nil
	}
	var claims Claims
	_, err := a.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) { return a.keyFunc(t, keys) })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, refusal.New(codes.Unauthenticated, refusal.TokenExpired,
			"token expired: present a fresh token")
	case err != nil:
		return nil, invalid(tokenErrorMessage(err))
	}
	sub, pub, err := claims.Herald.Expand(claims.Subject)
	if err != nil {
		return nil, invalid(err.Error())
	}
	var exp time.Time
	if claims.ExpiresAt != nil {
		exp = claims.ExpiresAt.Time
	}
	id := NewIdentity(Token, claims.Subject, exp, sub, pub)
	// The leeway is for clocks that disagree about when a token starts;
	// an exp that has passed is past for everything Herald does, so that
	// a token cannot publish or subscribe in the seconds after its streams
	// ended.
	if id.Expired(a.now()) {
		return nil, ExpiredError()
	}
	id = a.withPublic(id)
	a.verified.put(raw, keys, id, now)
	return id, nil
}

// keys returns the public key sets in force now (nil for those not
// configured).
func (a *Authenticator) keys() keySnapshot {
	var k keySnapshot
	if a.pem != nil {
		k.pem = a.pem.Get()
	}
	if a.jwks != nil {
		k.jwks = a.jwks.Get()
	}
	return k
}

// fresh returns a parsed key set as a new pointer, so that every load of
// a key file has an identity of its own (see keySnapshot).
func fresh(ks keySet, err error) (*keySet, error) {
	if err != nil {
		return nil, err
	}
	return &ks, nil
}

// withPublic adds the anonymous patterns to an identity's subscribe
// patterns: what anyone may read, a holder may read too.
func (a *Authenticator) withPublic(id *Identity) *Identity {
	if len(a.public) == 0 {
		return id
	}
	c := *id
	c.subscribe = append(append(make([]topic.Pattern, 0, len(id.subscribe)+len(a.public)), id.subscribe...), a.public...)
	return &c
}

// keyFunc returns the keys of ks that may verify the token.
func (a *Authenticator) keyFunc(t *jwt.Token, ks keySnapshot) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok {
		if a.hmac == nil {
			return nil, errors.New("HMAC-signed tokens are not accepted")
		}
		return a.hmac, nil
	}
	kid, _ := t.Header["kid"].(string)
	var set jwt.VerificationKeySet
	for _, v := range []*keySet{ks.jwks, ks.pem} {
		if v == nil {
			continue
		}
		for _, k := range v.keysFor(t.Method, kid) {
			set.Keys = append(set.Keys, k)
		}
	}
	if len(set.Keys) == 0 {
		if kid != "" {
			return nil, fmt.Errorf("no %s key with kid %q", t.Method.Alg(), clip(kid))
		}
		return nil, fmt.Errorf("no %s key configured", t.Method.Alg())
	}
	return set, nil
}

// tokenErrorMessage turns a jwt parse error into a client-facing message
// that says what is wrong without echoing the token.
func tokenErrorMessage(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token signature is invalid: " + innermost(err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token audience is not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token issuer is not accepted"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim: " + requiredClaim(err)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is issued in the future (iat)"
	}
	return "token is invalid: " + innermost(err)
}

// requiredClaim names the missing claim of a jwt error: its text is
// "<claim> claim is required".
func requiredClaim(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, " claim is required"); i > 0 {
		name := msg[:i]
		if j := strings.LastIndexAny(name, " :"); j >= 0 {
			name = name[j+1:]
		}
		switch name {
		case "aud":
			return "aud (audience)"
		case "iss":
			return "iss (issuer)"
		}
		return name
	}
	return innermost(err)
}

// innermost returns the text of the last error in err's chain.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs := j.Unwrap()
				if len(errs) > 0 {
					err = errs[len(errs)-1]
					continue
				}
			}
			return err.Error()
		}
		err = next
	}
}

// maxEchoed bounds what of a token's own header a refusal repeats.
const maxEchoed = 64

// clip returns s cut to maxEchoed bytes, marked when cut.
func clip(s string) string {
	if len(s) <= maxEchoed {
		return s
	}
	return s[:maxEchoed] + "…"
}

func invalid(msg string) error {
	return refusal.New(codes.Unauthenticated, refusal.InvalidToken, "invalid credential: "+msg)
}
