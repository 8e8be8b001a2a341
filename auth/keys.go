package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// keySet holds the public keys tokens may be signed with.
type keySet struct {
	byKID map[string]verifyKey // keys of a JWKS that name a kid
	all   []verifyKey          // every key, for tokens without a kid
}

// verifyKey is a public key and, when its JWK names one, the only
// algorithm it may verify.
type verifyKey struct {
	key   crypto.PublicKey
	alg   string // "" for any algorithm of the key's type
	named bool   // the key has a kid: a token naming another kid is not its
}

// minRSABits is the smallest RSA key accepted.
const minRSABits = 2048

// parsePEMKeys parses every public key in PEM data: PUBLIC KEY blocks
// (PKIX: RSA, ECDSA, Ed25519), RSA PUBLIC KEY blocks (PKCS #1) and
// CERTIFICATE blocks, whose public key is used. The keys have no kid.
func parsePEMKeys(data []byte) (keySet, error) {
	var ks keySet
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			if isPrivateBlock(block.Type) {
				return keySet{}, fmt.Errorf("PEM block %q is a private key: give the public key only", block.Type)
			}
			continue
		}
		if err != nil {
			return keySet{}, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		if err := checkKey(key); err != nil {
			return keySet{}, err
		}
		ks.all = append(ks.all, verifyKey{key: key})
	}
	if len(ks.all) == 0 {
		return keySet{}, errors.New("no public key found (want PEM blocks PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)")
	}
	return ks, nil
}

func isPrivateBlock(t string) bool {
	switch t {
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return true
	}
	return false
}

// parseJWKS parses a JSON Web Key Set of public signing keys.
func parseJWKS(data []byte) (keySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return keySet{}, fmt.Errorf("JWKS: %w", err)
	}
	ks := keySet{byKID: make(map[string]verifyKey)}
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if !k.IsPublic() {
			return keySet{}, fmt.Errorf("JWKS key %d (kid %q) is private: publish public keys only", i, k.KeyID)
		}
		if err := checkKey(k.Key); err != nil {
			return keySet{}, fmt.Errorf("JWKS key %d (kid %q): %w", i, k.KeyID, err)
		}
		vk := verifyKey{key: k.Key, alg: k.Algorithm, named: k.KeyID != ""}
		if k.KeyID != "" {
			if _, dup := ks.byKID[k.KeyID]; dup {
				return keySet{}, fmt.Errorf("JWKS: kid %q appears twice", k.KeyID)
			}
			ks.byKID[k.KeyID] = vk
		}
		ks.all = append(ks.all, vk)
	}
	if len(ks.all) == 0 {
		return keySet{}, errors.New("JWKS: no signing keys")
	}
	return ks, nil
}

// checkKey accepts the public key types tokens may be verified with.
func checkKey(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits; at least %d required", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported key type %T (want RSA, ECDSA or Ed25519)", key)
	}
	return nil
}

// keysFor returns the keys that may have signed a token with the given
// method and kid: the JWKS key the kid names; for a kid the set does not
// name, or no kid, the keys that have no kid of their own (PEM keys, JWKs
// without one) — and for a token without kid every key. Only keys of the
// method's type qualify, and a JWK that names its alg only for that
// algorithm.
func (ks keySet) keysFor(method jwt.SigningMethod, kid string) []crypto.PublicKey {
	if kid != "" {
		if k, ok := ks.byKID[kid]; ok {
			if k.fits(method) {
				return []crypto.PublicKey{k.key}
			}
			return nil
		}
	}
	var out []crypto.PublicKey
	for _, k := range ks.all {
		if k.fits(method) && (kid == "" || !k.named) {
			out = append(out, k.key)
		}
	}
	return out
}

// fits reports whether k may verify signatures of method.
func (k verifyKey) fits(method jwt.SigningMethod) bool {
	return (k.alg == "" || k.alg == method.Alg()) && keyFits(method, k.key)
}

// keyFits reports whether key can verify signatures of method.
func keyFits(method jwt.SigningMethod, key crypto.PublicKey) bool {
	switch m := method.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case *jwt.SigningMethodECDSA:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve.Params().BitSize == m.CurveBits
	case *jwt.SigningMethodEd25519:
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}
