package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// logUnary logs every unary call when it returns: method, status code,
// duration and peer, at the level codeLevel gives.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err, false)
		return resp, err
	}
}

// logStream logs every stream when it ends, like logUnary.
func logStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err, true)
		return err
	}
}

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error, stream bool) {
	st := status.Convert(err)
	level := codeLevel(st.Code(), stream)
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs,
		slog.String("method", method),
		slog.String("code", st.Code().String()),
		slog.Duration("duration", time.Since(start)),
	)
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("message", st.Message()))
	}
	msg := "grpc call"
	if stream {
		msg = "grpc stream ended"
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}

// codeLevel is the log level of a call that ended with code. Successful
// unary calls (publishes, health checks) are routine and log at Debug; a
// stream's end, a refused request or a client that left at Info; overload
// and unavailability at Warn; server faults at Error.
func codeLevel(code codes.Code, stream bool) slog.Level {
	switch code {
	case codes.OK:
		if stream {
			return slog.LevelInfo
		}
		return slog.LevelDebug
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition, codes.OutOfRange:
		return slog.LevelInfo
	case codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Unavailable:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// recoverUnary turns a panic in a unary handler into INTERNAL and logs it
// with its stack; the process keeps serving.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, panicStatus(ctx, log, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream is recoverUnary for streams.
func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicStatus(ss.Context(), log, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}

func panicStatus(ctx context.Context, log *slog.Logger, method string, p any) error {
	log.LogAttrs(ctx, slog.LevelError, "panic in grpc handler",
		slog.String("method", method),
		slog.Any("panic", p),
		slog.String("stack", string(debug.Stack())),
	)
	return status.Error(codes.Internal, msgInternal)
}
