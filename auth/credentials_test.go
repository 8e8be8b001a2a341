package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldhq/herald/internal/refusal"
)

func TestFromRequest(t *testing.T) {
	req := func(header, cookie, query string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/v1/sse?topic=a"+query, nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
		}
		return r
	}
	all := Header | Cookie | Query
	for _, tc := range []struct {
		name    string
		r       *http.Request
		sources Sources
		want    string
	}{
		{"header", req("Bearer h", "c", "&access_token=q"), all, "h"},
		{"scheme case", req("bearer h", "", ""), all, "h"},
		{"cookie", req("", "c", "&access_token=q"), all, "c"},
		{"query", req("", "", "&access_token=q"), all, "q"},
		{"none", req("", "", ""), all, ""},
		{"cookie not allowed", req("", "c", ""), Header, ""},
		{"query not allowed", req("", "", "&access_token=q"), Header | Cookie, ""},
	} {
		got, err := FromRequest(tc.r, tc.sources)
		if err != nil || got != tc.want {
			t.Errorf("%s: FromRequest = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for name, r := range map[string]*http.Request{
		"basic":        req("Basic dXNlcjpwYXNz", "", ""),
		"empty bearer": req("Bearer  ", "", ""),
		"two queries":  req("", "", "&access_token=a&access_token=b"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromRequest(r, all)
			wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
		})
	}
	two := req("Bearer a", "", "")
	two.Header.Add("Authorization", "Bearer b")
	_, err := FromRequest(two, all)
	wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
}

func TestFromMetadata(t *testing.T) {
	if got, err := FromMetadata(metadata.Pairs("authorization", "Bearer tok")); err != nil || got != "tok" {
		t.Errorf("FromMetadata = %q, %v", got, err)
	}
	if got, err := FromMetadata(metadata.MD{}); err != nil || got != "" {
		t.Errorf("FromMetadata of nothing = %q, %v", got, err)
	}
	_, err := FromMetadata(metadata.Pairs("authorization", "tok"))
	wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
	_, err = FromMetadata(metadata.Pairs("authorization", "Bearer a", "authorization", "Bearer b"))
	wantRefusal(t, err, codes.Unauthenticated, refusal.InvalidToken)
}

func TestExpiry(t *testing.T) {
	now := testNow()
	id := NewIdentity(Token, "alice", now.Add(10), nil, nil)
	if id.Expired(now) || !id.Expired(now.Add(10)) {
		t.Error("Expired does not follow Expires")
	}
	if NewIdentity(APIKey, "k", timeZero, nil, nil).Expired(now.Add(1 << 62)) {
		t.Error("a credential without expiry never expires")
	}
	wantRefusal(t, ExpiredError(), codes.Unauthenticated, refusal.TokenExpired)
}

func TestAtExpiry(t *testing.T) {
	never := NewIdentity(APIKey, "k", timeZero, nil, nil)
	if stop := never.AtExpiry(func() { t.Error("a credential without expiry expired") }); !stop() {
		t.Error("stop of a credential without expiry must report true")
	}
	fired := make(chan struct{})
	soon := NewIdentity(Token, "alice", time.Now().Add(20*time.Millisecond), nil, nil)
	soon.AtExpiry(func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the expiry never came")
	}
	later := NewIdentity(Token, "bob", time.Now().Add(time.Hour), nil, nil)
	if stop := later.AtExpiry(func() { t.Error("stopped expiry fired") }); !stop() {
		t.Error("stop before the expiry must report true")
	}
}
