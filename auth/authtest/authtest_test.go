package authtest

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/topic"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestMintVerifies(t *testing.T) {
	a, err := auth.New(auth.Config{HMACSecret: Secret, Audience: "herald", Issuer: "iss"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(Mint(t, Grant{Sub: "alice", Audience: "herald", Issuer: "iss", Subscribe: []string{"user.{sub}"}}))
	if err != nil {
		t.Fatal(err)
	}
	if !id.CanSubscribe(topic.MustParsePattern("user.alice")) || time.Until(id.Expires) < 59*time.Minute {
		t.Errorf("identity %+v", id)
	}
	if _, err := a.Authenticate(Mint(t, Grant{Sub: "alice", Audience: "other", Issuer: "iss"})); err == nil {
		t.Error("the audience was not minted into the token")
	}
	open, err := auth.New(auth.Config{HMACSecret: Secret})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := open.Authenticate(Mint(t, Grant{Sub: "svc", NoExpiry: true})); err != nil || !id.Expires.IsZero() {
		t.Errorf("NoExpiry: %v, expires %v", err, id.Expires)
	}
	if s := Soon(); time.Until(s) <= 900*time.Millisecond || time.Until(s) > 2*time.Second || !s.Equal(s.Truncate(time.Second)) {
		t.Errorf("Soon = %v", s)
	}
}
