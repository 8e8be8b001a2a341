package client

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrClosed is returned by Subscription.Next after Subscription.Close.
	ErrClosed = errors.New("client: subscription closed")
	// ErrDeadStream is the cause a Subscription reports when it gives up on
	// a stream that went silent: nothing, not even a heartbeat, arrived for
	// twice the server's heartbeat interval, or no subscribed frame arrived
	// within the subscribe timeout. It is retried.
	ErrDeadStream = errors.New("client: stream is dead: nothing received in time")
	// ErrStreamEnded is the cause a Subscription reports when the server
	// ended a stream without an error, which a subscription stream never
	// does on purpose. It is retried.
	ErrStreamEnded = errors.New("client: server ended the stream")
)

// Client publishes to and subscribes on a Herald server. It is safe for
// concurrent use.
type Client struct {
	rpc      heraldv1.PubSubServiceClient
	callOpts []grpc.CallOption
}

// Option configures a Client.
type Option func(*Client)

// WithCallOptions adds gRPC call options to every call the client makes,
// for example per-call credentials or grpc.WaitForReady. None by default.
func WithCallOptions(opts ...grpc.CallOption) Option {
	return func(c *Client) { c.callOpts = append(c.callOpts, opts...) }
}

// New returns a client that makes its calls over conn, typically a
// *grpc.ClientConn from grpc.NewClient. The caller owns conn and closes it
// after the client's subscriptions.
func New(conn grpc.ClientConnInterface, opts ...Option) *Client {
	c := &Client{rpc: heraldv1.NewPubSubServiceClient(conn)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// PublishOption sets an optional field of a published message.
type PublishOption func(*heraldv1.PublishRequest)

// WithContentType sets the payload's media type, such as
// "application/json", carried to subscribers unchanged. Empty by default.
func WithContentType(contentType string) PublishOption {
	return func(r *heraldv1.PublishRequest) { r.ContentType = contentType }
}

// WithEvent sets the message's event name, which subscribers can dispatch
// on (it becomes the SSE event field). Empty by default.
func WithEvent(event string) PublishOption {
	return func(r *heraldv1.PublishRequest) { r.Event = event }
}

// WithIdempotencyKey makes a publish safe to retry: while the first message
// published to the topic with this key is retained, publishing again with it
// returns the first message's id and time, with Duplicate set, and delivers
// nothing. Empty (no de-duplication) by default.
func WithIdempotencyKey(key string) PublishOption {
	return func(r *heraldv1.PublishRequest) { r.IdempotencyKey = key }
}

// Publish publishes data to topic and returns the message's id and publish
// time. Errors are gRPC status errors (see the API's Publish); Publish does
// not retry by itself: use WithIdempotencyKey to make retries safe.
func (c *Client) Publish(ctx context.Context, topic string, data []byte, opts ...PublishOption) (*heraldv1.PublishResponse, error) {
	req := &heraldv1.PublishRequest{Topic: topic, Data: data}
	for _, o := range opts {
		o(req)
	}
	return c.rpc.Publish(ctx, req, c.callOpts...)
}
