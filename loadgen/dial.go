package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// errNotLoopback is wrapped by the error for a server address that is not
// on the loopback interface.
var errNotLoopback = errors.New("only loopback targets are allowed (127.0.0.0/8, ::1): herald-bench measures a local server")

// checkAddrSyntax checks that addr is host:port with a numeric port, and
// that its host, when it is an IP literal, is a loopback address.
func checkAddrSyntax(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if _, err := netip.ParseAddrPort(net.JoinHostPort("127.0.0.1", port)); err != nil || port == "0" {
		return fmt.Errorf("%q: bad port %q", addr, port)
	}
	if host == "" {
		return fmt.Errorf("%q has no host: name a loopback address such as 127.0.0.1", addr)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%q: %w", addr, errNotLoopback)
	}
	return nil
}

// resolveLoopback resolves addr (host:port) and returns one address to
// dial, refusing any host that resolves to a non-loopback address, so that
// a run can never send traffic off the machine.
func resolveLoopback(ctx context.Context, addr string) (netip.AddrPort, error) {
	return resolveLoopbackWith(ctx, addr, func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	})
}

// resolveLoopbackWith is resolveLoopback with the name lookup given.
func resolveLoopbackWith(ctx context.Context, addr string, lookup func(context.Context, string) ([]netip.Addr, error)) (netip.AddrPort, error) {
	if err := checkAddrSyntax(addr); err != nil {
		return netip.AddrPort{}, err
	}
	host, port, _ := net.SplitHostPort(addr)
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if ips, err = lookup(ctx, host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: %w", addr, err)
		}
	}
	var pick netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if !ip.IsLoopback() {
			return netip.AddrPort{}, fmt.Errorf("%q resolves to %v: %w", addr, ip, errNotLoopback)
		}
		if !pick.IsValid() || (ip.Is4() && !pick.Is4()) {
			pick = ip // prefer IPv4, which the source addresses need
		}
	}
	if !pick.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("%q resolves to no address", addr)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(pick.String(), port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %w", addr, err)
	}
	return ap, nil
}

// dialers hands out the net.Dialer of each subscriber connection, spreading
// them over the source addresses 127.0.0.1 … 127.0.0.n.
type dialers struct {
	timeout time.Duration
	sources []*net.TCPAddr // empty: the kernel chooses
}

// newDialers returns the dialers for n source addresses (zero: none bound)
// towards target.
func newDialers(target netip.AddrPort, n int, timeout time.Duration) (*dialers, error) {
	d := &dialers{timeout: timeout}
	if n == 0 {
		return d, nil
	}
	if !target.Addr().Is4() {
		return nil, fmt.Errorf("%w: source addresses are 127.0.0.x, so the server address must be IPv4, not %v",
			ErrInvalidConfig, target.Addr())
	}
	for i := 1; i <= n; i++ {
		d.sources = append(d.sources, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i))})
	}
	return d, nil
}

// forConn returns the dialer of connection i.
func (d *dialers) forConn(i int) *net.Dialer {
	nd := &net.Dialer{Timeout: d.timeout, KeepAlive: -1}
	if len(d.sources) > 0 {
		nd.LocalAddr = d.sources[i%len(d.sources)]
		nd.Control = bindNoPort
	}
	return nd
}

// dialTarget returns a dial function for connection i that always dials
// target, whatever address it is asked for: the address was checked once,
// and a name is never resolved again.
func (d *dialers) dialTarget(i int, target netip.AddrPort) func(ctx context.Context, _, _ string) (net.Conn, error) {
	nd := d.forConn(i)
	addr := target.String()
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nd.DialContext(ctx, "tcp", addr)
	}
}
