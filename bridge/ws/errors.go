package ws

import "google.golang.org/grpc/codes"

// codeForHTTP is the gRPC code of a handshake refused with an HTTP status
// by the WebSocket upgrader.
func codeForHTTP(status int) codes.Code {
	switch status {
	case 400:
		return codes.InvalidArgument
	case 403:
		return codes.PermissionDenied
	case 405:
		return codes.Unimplemented
	}
	return codes.Internal
}
