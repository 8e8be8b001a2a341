package server

import (
	"context"
	"net"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/metrics"
)

// ClientAddrHeader is the incoming metadata key with which the HTTP gateway
// names the client a call acts for: the HTTP client's address, host:port
// (net/http's Request.RemoteAddr). The server believes it only on calls
// that arrive over the in-process listener, which only the gateway can
// reach; on any other connection the peer address is the client's.
const ClientAddrHeader = "x-herald-client-addr"

// inProcessNetwork is the network of the addresses of the in-process
// listener (grpc's bufconn) on which the HTTP gateway reaches the server.
const inProcessNetwork = "bufconn"

// inProcess reports whether a is an address of the in-process listener.
func inProcess(a net.Addr) bool { return a != nil && a.Network() == inProcessNetwork }

// authenticate returns whom the call of ctx acts for, from the credential
// of its "authorization" metadata. The error is a *refusal.Error.
func (s *Server) authenticate(ctx context.Context) (*auth.Identity, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	cred, err := auth.FromMetadata(md)
	if err != nil {
		return nil, err
	}
	return s.cfg.Auth.Authenticate(cred)
}

// clientAddr returns the address, host:port, of the client the call of ctx
// acts for: the peer's, or for a call over the in-process listener the one
// the gateway names in ClientAddrHeader. Outside clients cannot set it:
// the header is read on in-process calls only, and the gateway drops
// client headers that would map into the x-herald- namespace. Should more
// than one value arrive all the same, none is believed.
func clientAddr(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	if inProcess(p.Addr) {
		if v := metadata.ValueFromIncomingContext(ctx, ClientAddrHeader); len(v) == 1 && v[0] != "" {
			return v[0]
		}
	}
	return p.Addr.String()
}

// hostOf returns the host of a host:port address, or addr itself when it
// has no port.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// publishKey is the key under which a publish is rate limited: the
// identity's, or the client's address for an anonymous publisher.
func publishKey(id *auth.Identity, addr string) string {
	if k := id.RateKey(); k != "" {
		return k
	}
	return "ip:" + hostOf(addr)
}

// admitSubscribe decides whether id, calling from addr, may open a stream
// on patterns: it must be allowed every pattern, within the topic limit
// and the subscribe rate of its connection, and get a connection slot for
// its address. release gives the slot back when the stream ends. The error
// is a *refusal.Error.
//
// A relay (the API key of a bridge node) is held to its permissions and
// the topic limit only: its streams carry many browsers' subscriptions
// from one address, and the bridge applies the rate and connection limits
// to each of its own clients.
func (s *Server) admitSubscribe(id *auth.Identity, sub subscription, addr string) (release func(), err error) {
	lim := s.cfg.Limits
	if err := id.AuthorizeSubscribe(sub.patterns); err != nil {
		return nil, err
	}
	if err := lim.CheckTopics(len(sub.patterns)); err != nil {
		return nil, err
	}
	if id.Relay {
		return func() {}, nil
	}
	if err := lim.Subscribe(addr); err != nil {
		return nil, err
	}
	return lim.Connect(hostOf(addr))
}

// refuse counts a refusal (a *refusal.Error) under its reason and returns
// it; its status carries the reason as a google.rpc.ErrorInfo.
func refuse(m *metrics.Transport, err error) error {
	m.Refuse(refusal.Reason(err))
	return err
}

// expireAt calls abort with errTokenExpired at exp, unless exp is zero (a
// credential that does not expire). stop cancels the call.
func expireAt(exp time.Time, abort func(error)) (stop func() bool) {
	if exp.IsZero() {
		return func() bool { return false }
	}
	return time.AfterFunc(time.Until(exp), func() { abort(errTokenExpired) }).Stop
}
