package loadgen

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gorilla/websocket"
)

// connFactory makes the subscriber connections of a run, with the HTTP
// transports (for SSE) or WebSocket dialers they share: one per source
// address, so that each dials from its own.
type connFactory struct {
	cfg        Config
	httpTarget netip.AddrPort
	grpcTarget netip.AddrPort
	dialers    *dialers

	httpClients []*http.Client      // SSE, per source address
	wsDialers   []*websocket.Dialer // WebSocket, per source address
}

func newConnFactory(cfg Config, httpTarget, grpcTarget netip.AddrPort, d *dialers) *connFactory {
	f := &connFactory{cfg: cfg, httpTarget: httpTarget, grpcTarget: grpcTarget, dialers: d}
	n := max(1, len(d.sources))
	for i := range n {
		dial := d.dialTarget(i, httpTarget)
		switch cfg.Transport {
		case TransportSSE:
			f.httpClients = append(f.httpClients, &http.Client{Transport: &http.Transport{
				Proxy:                 nil, // loopback only, never through a proxy
				DialContext:           dial,
				DisableCompression:    true,
				MaxIdleConnsPerHost:   -1, // a finished stream's connection is not kept
				ResponseHeaderTimeout: cfg.ConnectTimeout,
				WriteBufferSize:       1 << 10,
				ReadBufferSize:        8 << 10,
			}})
		case TransportWS:
			f.wsDialers = append(f.wsDialers, &websocket.Dialer{
				Proxy:            nil,
				NetDialContext:   dial,
				HandshakeTimeout: cfg.ConnectTimeout,
				ReadBufferSize:   8 << 10,
				WriteBufferSize:  1 << 10,
			})
		}
	}
	return f
}

// newConn returns subscriber connection i, not yet open. ctx bounds its
// whole life.
func (f *connFactory) newConn(ctx context.Context, i int) subConn {
	switch f.cfg.Transport {
	case TransportSSE:
		c := f.httpClients[i%len(f.httpClients)]
		return newSSEConn(ctx, c, "http://"+f.httpTarget.String(), f.cfg.Topic, f.cfg.SSEEnvelope)
	case TransportWS:
		d := f.wsDialers[i%len(f.wsDialers)]
		return newWSConn(d, "ws://"+f.httpTarget.String(), f.cfg.Topic)
	default:
		return newGRPCConn(ctx, f.grpcTarget, f.dialers.dialTarget(i, f.grpcTarget), f.cfg.Topic)
	}
}

// close releases what the factory's transports keep.
func (f *connFactory) close() {
	for _, c := range f.httpClients {
		c.CloseIdleConnections()
	}
}
