package app

import "context"

// Run starts a node, serves until ctx ends, then shuts it down within
// cfg.ShutdownTimeout. It returns nil after a clean shutdown; an error when
// the node cannot start, when one of its servers fails while serving (it
// then shuts down the rest), or when the shutdown had to cut connections.
func Run(ctx context.Context, cfg Config) error {
	n, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return n.serveUntil(ctx)
}

// serveUntil waits for the end of ctx or the failure of a server, then shuts
// the node down within its shutdown timeout.
func (n *Node) serveUntil(ctx context.Context) error {
	return n.runUntil(ctx, n.cfg.ShutdownTimeout, n.Shutdown)
}
