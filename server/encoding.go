package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// grpcEncoding is the key of a message's encoded gRPC frame in its encoding
// cache. Keys are compared by identity and never change, so one for the
// process is all there is.
//
// The cached value is a *grpc.PreparedMsg of the message's SubscribeResponse
// frame: the 5-byte gRPC message header and the protobuf bytes, encoded
// once and sent on every stream that receives the message. Sharing one
// PreparedMsg between streams, also concurrently, is sound because sending
// one only reads it: grpc's prepareMsg returns its stored header and
// payload, and its buffers are mem.SliceBuffers whose Ref and Free do
// nothing, so no stream can return them to a pool under another.
//
// The invariant that makes a shared encoding correct for a stream is that
// the stream sends with the proto codec and without compression, because
// PreparedMsg.Encode bakes the encoding stream's codec and compressor into
// the bytes. This server registers no compressor and no codec, and nothing
// in this package may import google.golang.org/grpc/encoding/gzip (or any
// other compressor), so a client asking for gzip gets UNIMPLEMENTED before
// a handler runs. Because another package of the same binary could still
// register one, sharedEncoding checks every stream, and a stream that
// compresses or uses another codec is sent freshly encoded frames and never
// touches the cache.
var grpcEncoding = engine.NewEncodingKey("grpc")

// streamEncoding is the part of grpc's server transport stream that says
// how a stream encodes its messages.
type streamEncoding interface {
	SendCompress() string
	ContentSubtype() string
}

// sharedEncoding reports whether the stream of ctx encodes messages exactly
// as the shared cache holds them: proto codec, no compression. When that
// cannot be determined it reports false, which is always safe.
func sharedEncoding(ctx context.Context) bool {
	st, ok := grpc.ServerTransportStreamFromContext(ctx).(streamEncoding)
	if !ok {
		return false
	}
	switch st.ContentSubtype() {
	case "", "proto":
	default:
		return false
	}
	switch st.SendCompress() {
	case "", "identity":
		return true
	}
	return false
}

// messageFrame is the Subscribe frame of a message.
func messageFrame(m *engine.Message) *heraldv1.SubscribeResponse {
	return &heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{
		Topic:       m.Topic,
		Id:          m.ID.String(),
		Data:        m.Data,
		ContentType: m.ContentType,
		Event:       m.Event,
		PublishTime: timestamppb.New(m.Time),
	}}}
}

// preparedFrame returns the message's frame encoded for stream, from the
// message's cache or encoded now and cached for the other streams. stream
// must satisfy sharedEncoding.
func preparedFrame(stream grpc.ServerStream, m *engine.Message) (*grpc.PreparedMsg, error) {
	if pm, ok := m.Encoding(grpcEncoding).(*grpc.PreparedMsg); ok {
		return pm, nil
	}
	pm := new(grpc.PreparedMsg)
	if err := pm.Encode(stream, messageFrame(m)); err != nil {
		return nil, err
	}
	// Another stream may have stored its encoding first; use that one.
	cached, _ := m.SetEncoding(grpcEncoding, pm).(*grpc.PreparedMsg)
	if cached == nil {
		return pm, nil
	}
	return cached, nil
}
