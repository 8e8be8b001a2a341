package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Client returns the TLS configuration of a client that trusts the
// certificate authorities in the PEM file caFile, or the system's when
// caFile is empty. It accepts TLS 1.2 and newer.
func Client(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: CA file %s: %w", caFile, errNoCertificates)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// errNoCertificates is why a CA file that holds no certificate is refused.
var errNoCertificates = errors.New("no PEM certificate found")
