package rawconn

import "net"

// Listener returns ln with every TCP connection it accepts wrapped.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

// listener is the net.Listener of Listener.
type listener struct{ net.Listener }

// Accept waits for the next connection and wraps it.
func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
