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
		want    bool
	}{
		{"no origin header", nil, "", "herald.example", true},
		{"same origin", nil, "https://herald.example", "herald.example", true},
		{"same origin, other case", nil, "https://Herald.Example:8080", "herald.example:8080", true},
		{"other port is another origin", nil, "https://herald.example:9999", "herald.example:8080", false},
		{"foreign, nothing listed", nil, "https://evil.example", "herald.example", false},
		{"listed exactly", []string{"https://app.example"}, "https://app.example", "herald.example", true},
		{"not listed", []string{"https://app.example"}, "https://app2.example", "herald.example", false},
		{"wildcard", []string{" https://*.example.com "}, "https://a.example.com", "herald.example", true},
		{"wildcard, other domain", []string{"https://*.example.com"}, "https://a.example.org", "herald.example", false},
		{"any", []string{"", "*"}, "https://whoever.example", "herald.example", true},
		{"null origin", []string{"https://app.example"}, "null", "herald.example", false},
		{"garbage origin", nil, "::::", "herald.example", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/sse", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if got := NewOriginPolicy(tt.allowed).Allowed(r); got != tt.want {
				t.Fatalf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}
