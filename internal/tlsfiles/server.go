package tlsfiles

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/reload"
)

// Options tune Server. Zero fields take their defaults.
type Options struct {
	// Interval is how often the files are looked at for a change.
	// Default reload.DefaultInterval (5s).
	Interval time.Duration
	// OnReloadError receives a changed pair that could not be loaded; the
	// previous pair stays in service. Default: ignored.
	OnReloadError func(error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Server returns the TLS configuration of a server that presents the
// certificate chain of certFile with the private key of keyFile (both
// PEM), reloading them when they change (see the package documentation).
// It accepts TLS 1.2 and newer and offers HTTP/2 and HTTP/1.1 by ALPN. A
// pair that cannot be loaded now is an error: a server should not start
// without a certificate.
func Server(certFile, keyFile string, opts Options) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls: both a certificate file and a key file are required")
	}
	pair, err := reload.Load([]string{certFile, keyFile}, parsePair, reload.Options{
		Interval: opts.Interval,
		OnError: func(err error) {
			if opts.OnReloadError != nil {
				opts.OnReloadError(fmt.Errorf("tls: %s, %s: %w; still serving the previous certificate", certFile, keyFile, err))
			}
		},
		Now: opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("tls: %s, %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return pair.Get(), nil
		},
	}, nil
}

// parsePair parses a certificate chain and its private key.
func parsePair(contents [][]byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(contents[0], contents[1])
	if err != nil {
		return nil, err
	}
	return &cert, nil
}
