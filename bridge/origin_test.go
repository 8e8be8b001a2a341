package bridge

import (
	"net/http/httptest"
	"testing"
)

func TestOriginPolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		allowed []string
		origin  string
		host    string
		want    Admission
	}{
		{"no origin header", nil, "", "herald.example", OriginAbsent},
		{"no origin header, any", []string{"*"}, "", "herald.example", OriginAbsent},
		{"same origin", nil, "https://herald.example", "herald.example", OriginSame},
		{"same origin, other case", nil, "https://Herald.Example:8080", "herald.example:8080", OriginSame},
		{"same origin, any", []string{"*"}, "https://herald.example", "herald.example", OriginSame},
		{"other port is another origin", nil, "https://herald.example:9999", "herald.example:8080", OriginRefused},
		{"foreign, nothing listed", nil, "https://evil.example", "herald.example", OriginRefused},
		{"listed exactly", []string{"https://app.example"}, "https://app.example", "herald.example", OriginListed},
		{"not listed", []string{"https://app.example"}, "https://app2.example", "herald.example", OriginRefused},
		{"wildcard", []string{" https://*.example.com "}, "https://a.example.com", "herald.example", OriginListed},
		{"wildcard, other domain", []string{"https://*.example.com"}, "https://a.example.org", "herald.example", OriginRefused},
		{"any", []string{"", "*"}, "https://whoever.example", "herald.example", OriginAny},
		{"listed beside any", []string{"*", "https://app.example"}, "https://app.example", "herald.example", OriginListed},
		{"wildcard beside any", []string{"https://*.example.com", "*"}, "https://a.example.com", "herald.example", OriginListed},
		{"unlisted beside any", []string{"https://app.example", "*"}, "https://evil.example", "herald.example", OriginAny},
		{"null origin", []string{"https://app.example"}, "null", "herald.example", OriginRefused},
		{"null origin, any", []string{"*"}, "null", "herald.example", OriginAny},
		{"garbage origin", nil, "::::", "herald.example", OriginRefused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/sse", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			got := NewOriginPolicy(tt.allowed).Admit(r)
			if got != tt.want {
				t.Fatalf("Admit = %v, want %v", got, tt.want)
			}
			if got.Allowed() != (tt.want != OriginRefused) {
				t.Fatalf("Allowed = %v for %v", got.Allowed(), got)
			}
		})
	}
}

// TestAdmissionCookieTrusted: the cookie is a credential for every
// admitted origin but one that only "*" admits.
func TestAdmissionCookieTrusted(t *testing.T) {
	t.Parallel()
	for a, want := range map[Admission]bool{
		OriginRefused: false,
		OriginAbsent:  true,
		OriginSame:    true,
		OriginListed:  true,
		OriginAny:     false,
	} {
		if got := a.CookieTrusted(); got != want {
			t.Errorf("Admission(%d).CookieTrusted() = %v, want %v", a, got, want)
		}
	}
}
