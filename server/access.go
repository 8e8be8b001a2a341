package server

import (
	"context"
	"net"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/metrics"
)

// ClientAddrHeader is the incoming metadata key with which an HTTP gateway
// names the client a call acts for: the HTTP client's address, host:port
// (net/http's Request.RemoteAddr). The server believes it only on calls
// that arrive over the in-process listener, which only the node's own
// gateway can reach, and on calls that carry a relay credential
// (RelayAuthorizationHeader), as a bridge's gateway sends them; on any
// other call the peer address is the client's.
const ClientAddrHeader = "x-herald-client-addr"

// RelayAuthorizationHeader is the incoming metadata key of a relay
// credential, "Bearer <key>": the API key of a bridge ("relay": true in
// the API keys file) that relays its clients' calls over its own
// connection. It vouches for ClientAddrHeader only; the call still acts
// for the client whose credential is in "authorization".
const RelayAuthorizationHeader = "x-herald-relay-authorization"

// inProcessNetwork is the network of the addresses of the in-process
// listener (grpc's bufconn) on which the HTTP gateway reaches the server.
const inProcessNetwork = "bufconn"

// inProcess reports whether a is an address of the in-process listener.
func inProcess(a net.Addr) bool { return a != nil && a.Network() == inProcessNetwork }

// authenticate returns whom the call of ctx acts for, from the credential
// of its "authorization" metadata. The error is a
// *refusal.Error.
func (s *Server) authenticate(ctx context.Context) (*auth.Identity, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	cred, err := auth.FromMetadata(md)
	if err != nil {
		return nil, err
	}
	return s.cfg.Auth.Authenticate(cred)
}

// clientAddr returns the address, host:port, of the client the call of ctx
// acts for: the peer's, or the one a gateway names in ClientAddrHeader
// when the call comes over the in-process listener or carries a valid
// relay credential. Outside clients cannot set it: the header is read only
// on those calls, and the gateway drops client headers that would map
// into the x-herald- namespace. Should more than one value arrive all the
// same, none is believed.
func (s *Server) clientAddr(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	if v := metadata.ValueFromIncomingContext(ctx, ClientAddrHeader); len(v) == 1 && v[0] != "" &&
		(inProcess(p.Addr) || s.relayed(ctx)) {
		return v[0]
	}
	return p.Addr.String()
}

// relayed reports whether the call of ctx carries, in exactly one
// RelayAuthorizationHeader value, a credential that identifies a relay.
// A relay credential that is missing, malformed, unknown or not a relay's
// is not an error: the call is then simply not believed to be relayed.
func (s *Server) relayed(ctx context.Context) bool {
	v := metadata.ValueFromIncomingContext(ctx, RelayAuthorizationHeader)
	if len(v) != 1 {
		return false
	}
	// FromMetadata parses the value as it parses "authorization".
	cred, err := auth.FromMetadata(metadata.Pairs(auth.MetadataKey, v[0]))
	if err != nil || cred == "" {
		return false
	}
	id, err := s.cfg.Auth.Authenticate(cred)
	return err == nil && id.Relay
}

// ClientHost returns the host of a client address, host:port, the key of
// the per-address connection limit; addr itself when it has no port.
func ClientHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// PublishKey is the key under which a publish by id, calling from addr
// (host:port), is rate limited: the identity's, or the client's host for
// an anonymous publisher.
func PublishKey(id *auth.Identity, addr string) string {
	if k := id.RateKey(); k != "" {
		return k
	}
	return "ip:" + ClientHost(addr)
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
	return lim.Connect(ClientHost(addr))
}

// refuse counts a refusal (a *refusal.Error) under its reason and returns
// it; its status carries the reason as a google.rpc.ErrorInfo.
func refuse(m *metrics.Transport, err error) error {
	m.Refuse(refusal.Reason(err))
	return err
}
