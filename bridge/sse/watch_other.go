//go:build !unix

package sse

// awaitEnd waits until the client ends its side of the connection, or
// the connection fails or is closed, reading and dropping whatever the
// client sends. It reports whether the client ended it (or the
// connection failed), rather than Close.
func (hc *hijacked) awaitEnd() bool { return hc.readUntilEnd() }
