package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldhq/herald/auth"
)

// tokenFlags are the settings of `herald token`.
type tokenFlags struct {
	secret    string
	subject   string
	subscribe []string
	publish   []string
	ttl       time.Duration
	audience  string
	issuer    string
}

// hmacSecretEnv is where `herald token` finds the secret when --secret is
// not given: the variable `herald serve` reads it from.
var hmacSecretEnv = envName("auth-hmac-secret")

func newTokenCommand(f *tokenFlags) *command {
	c := newCommand("token", "herald token [flags]",
		`Print a token (JWT, HS256) signed with an HMAC secret, for development
and scripts: present it with --token, "authorization: Bearer", the
herald_token cookie or the access_token parameter. The secret is that of
'herald serve --auth-hmac-secret'; without --secret it is read from
`+hmacSecretEnv+`. Patterns may use * and > and {sub}, which stands
for the token's subject. Production tokens come from your own identity
service (see docs/security.md).`,
		`herald token --sub alice --subscribe 'news.>,user.{sub}' --publish 'chat.{sub}'    # secret from HERALD_AUTH_HMAC_SECRET`,
		`HERALD_TOKEN=$(herald token --sub svc --publish 'orders.>' --ttl 24h) herald publish --topic orders.new hi`,
	)
	c.String(&f.secret, "secret", "SECRET", "", "HMAC secret to sign with, at least 32 bytes. Better given as "+hmacSecretEnv+": flags show in ps.")
	c.String(&f.subject, "sub", "SUBJECT", "", "The token's subject (sub claim): who it stands for.")
	c.List(&f.subscribe, "subscribe", "PATTERNS", "Topic patterns the holder may subscribe to; repeatable or comma-separated.")
	c.List(&f.publish, "publish", "PATTERNS", "Topic patterns the holder may publish to; repeatable or comma-separated.")
	c.Duration(&f.ttl, "ttl", time.Hour, "How long the token is valid (exp claim).")
	c.String(&f.audience, "audience", "AUD", "", "The token's audience (aud claim), for a server run with --auth-audience.")
	c.String(&f.issuer, "issuer", "ISS", "", "The token's issuer (iss claim), for a server run with --auth-issuer.")
	return c
}

// runToken prints a token.
func runToken(_ context.Context, args []string, e env) int {
	var f tokenFlags
	rest, code, ok := parseFlags(newTokenCommand(&f), args, e)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, "token", "unexpected argument %q", rest[0])
	}
	if f.secret == "" {
		f.secret, _ = e.lookup(hmacSecretEnv)
	}
	if f.secret == "" {
		return usageError(e, "token", "no secret: give --secret or set %s", hmacSecretEnv)
	}
	tok, err := mintToken(f, time.Now())
	if err != nil {
		return usageError(e, "token", "%v", err)
	}
	fmt.Fprintln(e.stdout, tok)
	return exitOK
}

// mintToken signs the token f describes, issued at now.
func mintToken(f tokenFlags, now time.Time) (string, error) {
	if len(f.secret) < auth.MinHMACSecretLen {
		return "", fmt.Errorf("the secret has %d bytes; at least %d are required", len(f.secret), auth.MinHMACSecretLen)
	}
	perms := auth.Permissions{Subscribe: f.subscribe, Publish: f.publish}
	if len(perms.Subscribe)+len(perms.Publish) == 0 {
		return "", errors.New("the token would allow nothing: give --subscribe or --publish patterns")
	}
	// Refuse what the server would refuse, such as {sub} without --sub.
	if _, _, err := perms.Expand(f.subject); err != nil {
		return "", err
	}
	claims := auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   f.subject,
			Issuer:    f.issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(f.ttl)),
		},
		Herald: perms,
	}
	if f.audience != "" {
		claims.Audience = jwt.ClaimStrings{f.audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(f.secret))
}
