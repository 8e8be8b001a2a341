package tlsfiles_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/internal/tlsfiles"
	"github.com/heraldhq/herald/internal/tlsfiles/tlstest"
)

// reloadInterval is the short interval the tests reload certificates at.
const reloadInterval = 50 * time.Millisecond

// serveTLS accepts TLS connections on a loopback port with cfg, completes
// their handshake and closes them, until the end of the test. It returns
// the address.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = lis.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	})
	return lis.Addr().String()
}

// clientConfig returns the configuration of a client that trusts the CA
// in the file caFile.
func clientConfig(t *testing.T, caFile string) *tls.Config {
	t.Helper()
	cfg, err := tlsfiles.Client(caFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// reloadErrors collects the errors a server configuration reports.
type reloadErrors struct {
	mu   sync.Mutex
	errs []error
}

func (r *reloadErrors) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reloadErrors) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func (r *reloadErrors) last() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[len(r.errs)-1]
}

// reloading is a TLS server on the configuration Server builds, reloading
// every reloadInterval, with a client that trusts its CA.
type reloading struct {
	ca      *tlstest.CA
	dir     string
	keyFile string
	addr    string
	client  *tls.Config
	errs    *reloadErrors
}

// startReloading writes a pair named name and serves it.
func startReloading(t *testing.T, name string) *reloading {
	t.Helper()
	r := &reloading{ca: tlstest.NewCA(t), dir: t.TempDir(), errs: &reloadErrors{}}
	certFile, keyFile := r.ca.WritePair(t, r.dir, name)
	cfg, err := tlsfiles.Server(certFile, keyFile, tlsfiles.Options{Interval: reloadInterval, OnReloadError: r.errs.add})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || strings.Join(cfg.NextProtos, ",") != "h2,http/1.1" {
		t.Errorf("MinVersion %x, NextProtos %v", cfg.MinVersion, cfg.NextProtos)
	}
	r.keyFile, r.addr = keyFile, serveTLS(t, cfg)
	r.client = clientConfig(t, r.ca.WriteCA(t, r.dir))
	if got := tlstest.ServedName(t, r.addr, r.client); got != name {
		t.Fatalf("served %q, want %q", got, name)
	}
	return r
}

// replace writes a new pair named name and waits until it is served.
func (r *reloading) replace(t *testing.T, name string) {
	t.Helper()
	r.ca.WritePair(t, r.dir, name)
	testutil.WaitFor(t, 10*time.Second, "the certificate "+name, func() bool {
		return tlstest.ServedName(t, r.addr, r.client) == name
	})
}

func TestServerServesThePairAndItsReplacement(t *testing.T) {
	t.Parallel()
	r := startReloading(t, "first")
	// A renewed pair, with a longer name so that the files change size.
	r.replace(t, "second, renewed")
	if n := r.errs.count(); n != 0 {
		t.Errorf("%d reload errors for good pairs: %v", n, r.errs.last())
	}
}

func TestServerKeepsThePairWhenTheNewOneIsBad(t *testing.T) {
	t.Parallel()
	r := startReloading(t, "good")

	// A key that is not the certificate's.
	_, otherKey := r.ca.Issue(t, "other")
	if err := os.WriteFile(r.keyFile, append(otherKey, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the reload error", func() bool {
		_ = tlstest.ServedName(t, r.addr, r.client)
		return r.errs.count() > 0
	})
	if got := tlstest.ServedName(t, r.addr, r.client); got != "good" {
		t.Fatalf("after a bad pair: served %q, want the previous certificate", got)
	}
	if msg := r.errs.last().Error(); !strings.Contains(msg, r.keyFile) || !strings.Contains(msg, "previous certificate") {
		t.Errorf("reload error %q does not name the file and the fallback", msg)
	}

	// A good pair after the bad one is taken up.
	r.replace(t, "good again, later")
}

func TestServerRefusesMissingOrBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.WritePair(t, dir, "x")
	for _, tc := range []struct{ cert, key string }{
		{"", keyFile},
		{certFile, ""},
		{filepath.Join(dir, "missing.pem"), keyFile},
		{keyFile, certFile}, // swapped
	} {
		if _, err := tlsfiles.Server(tc.cert, tc.key, tlsfiles.Options{}); err == nil {
			t.Errorf("Server(%q, %q) accepted", tc.cert, tc.key)
		}
	}
}

func TestClientTrustsOnlyItsCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.WritePair(t, dir, "server")
	cfg, err := tlsfiles.Server(certFile, keyFile, tlsfiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, cfg)

	other := tlstest.NewCA(t).WriteCA(t, t.TempDir())
	var verr *tls.CertificateVerificationError
	if _, err := tls.Dial("tcp", addr, clientConfig(t, other)); !errors.As(err, &verr) {
		t.Fatalf("a client trusting another CA connected: %v", err)
	}
	system, err := tlsfiles.Client("")
	if err != nil || system.RootCAs != nil || system.MinVersion != tls.VersionTLS12 {
		t.Fatalf("Client(\"\") = %+v, %v; want the system roots", system, err)
	}
	if _, err := tlsfiles.Client(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing CA file was accepted")
	}
	if _, err := tlsfiles.Client(keyFile); err == nil {
		t.Error("a CA file without certificates was accepted")
	}
}
