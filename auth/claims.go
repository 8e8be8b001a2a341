package auth

import (
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldhq/herald/topic"
)

// SubPlaceholder stands for the token's subject in a claimed pattern.
const SubPlaceholder = "{sub}"

// Claims are the claims Herald reads from a token: the registered ones
// (sub, exp, nbf, aud, iss) and the herald permissions.
type Claims struct {
	jwt.RegisteredClaims
	// Herald holds the topic patterns the holder may use.
	Herald Permissions `json:"herald"`
}

// Permissions name the topic patterns a holder may subscribe and publish
// to. A pattern may use the wildcards * and > and the {sub} placeholder.
type Permissions struct {
	// Subscribe lists the patterns the holder may subscribe to.
	Subscribe []string `json:"subscribe,omitempty"`
	// Publish lists the patterns the holder may publish to.
	Publish []string `json:"publish,omitempty"`
}

// maxClaimedPatterns bounds the patterns one credential may carry, so that
// a huge token cannot make every authorization check slow.
const maxClaimedPatterns = 256

// Expand parses the permissions for the given subject, replacing {sub}
// with it. The subject must then be usable as one topic token: a subject
// that is empty, or holds a '.', a wildcard or a character a topic may not
// have, would let a pattern reach topics that are not the holder's own, so
// such a subject with a {sub} pattern is refused. An invalid pattern is
// refused with an error naming it.
func (p Permissions) Expand(subject string) (subscribe, publish []topic.Pattern, err error) {
	if n := len(p.Subscribe) + len(p.Publish); n > maxClaimedPatterns {
		return nil, nil, fmt.Errorf("herald claim: %d patterns; the limit is %d", n, maxClaimedPatterns)
	}
	if subscribe, err = expand("subscribe", p.Subscribe, subject); err != nil {
		return nil, nil, err
	}
	if publish, err = expand("publish", p.Publish, subject); err != nil {
		return nil, nil, err
	}
	return subscribe, publish, nil
}

// expand parses one list of claimed patterns.
func expand(field string, raw []string, subject string) ([]topic.Pattern, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]topic.Pattern, 0, len(raw))
	for i, s := range raw {
		if strings.Contains(s, SubPlaceholder) {
			if err := validSubject(subject); err != nil {
				return nil, fmt.Errorf("herald.%s[%d] %q uses {sub}, but %w", field, i, s, err)
			}
			s = strings.ReplaceAll(s, SubPlaceholder, subject)
		}
		p, err := topic.ParsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("herald.%s[%d]: %w", field, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// validSubject checks that a subject can stand for one literal topic
// token.
func validSubject(subject string) error {
	if subject == "" {
		return fmt.Errorf("the token has no sub claim")
	}
	if strings.Contains(subject, ".") || topic.Validate(subject) != nil {
		return fmt.Errorf("sub %q is not a single topic token (A-Z a-z 0-9 _ - : @, at most 255)", subject)
	}
	return nil
}
