package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"maps"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/auth/authtest"
	"github.com/heraldhq/herald/client"
	"github.com/heraldhq/herald/internal/tlsfiles/tlstest"
)

// testTLS is a throwaway CA and a certificate it signed, in files.
type testTLS struct {
	ca     *tlstest.CA
	cfg    app.TLSConfig
	caFile string
}

func newTestTLS(t *testing.T) testTLS {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	cert, key := ca.WritePair(t, dir, "herald test server")
	return testTLS{ca: ca, cfg: app.TLSConfig{CertFile: cert, KeyFile: key}, caFile: ca.WriteCA(t, dir)}
}

// dialTLS returns a client connection over TLS to addr, trusting the CA
// of tt, closed at the end of the test.
func (tt testTLS) dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	creds, err := client.TLSCredentials(tt.caFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// statusOf sends a request with header and body (none when empty) and
// returns the response's status code, without reading the body.
func statusOf(t *testing.T, hc *http.Client, method, url string, header http.Header, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// bearer is the header that presents tok.
func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// startSecureNode starts a node that serves TLS with tt and requires
// tokens signed with authtest.Secret.
func startSecureNode(t *testing.T, tt testTLS) *app.Node {
	t.Helper()
	cfg := testConfig(t)
	cfg.TLS = tt.cfg
	cfg.Auth = auth.Config{HMACSecret: authtest.Secret}
	return startNode(t, cfg)
}

// httpsClient returns a client that trusts pool and speaks HTTP/2 when h2
// is set, HTTP/1.1 only otherwise, closed at the end of the test.
func httpsClient(t *testing.T, pool *x509.CertPool, h2 bool) *http.Client {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(h2)
	tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
