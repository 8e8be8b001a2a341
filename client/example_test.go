package client_test

import (
	"context"
	"log"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldhq/herald/client"
)

// A service publishes with an idempotency key and follows a topic pattern
// with a subscription that reconnects and resumes by itself.
func Example() {
	ctx := context.Background()
	conn, err := grpc.NewClient("localhost:9090",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// gRPC's own reconnect delay grows to two minutes; keep it short so
		// the subscription's backoff decides.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := client.New(conn)

	res, err := c.Publish(ctx, "orders.created", []byte(`{"id":1}`),
		client.WithContentType("application/json"), client.WithIdempotencyKey("order-1"))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("published %s", res.GetId())

	sub := c.Subscribe(ctx, []string{"orders.>"}, client.WithLastEventID(res.GetId()))
	defer sub.Close()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			log.Printf("subscription ended: %v", err) // a final error: bad topic, ctx done, Close
			return
		}
		switch ev.Kind {
		case client.KindMessage:
			log.Printf("%s %s %s", ev.Message.GetId(), ev.Message.GetTopic(), ev.Message.GetData())
		case client.KindGap:
			log.Printf("history gap, messages may be missing: %v", ev.Gap)
		case client.KindReconnecting:
			log.Printf("reconnecting in %v: %v", ev.Delay, ev.Err)
		}
	}
}

// A service connects over TLS and presents a token that it renews: each
// call and each resubscribe asks for the current one, so a subscription
// resumes without loss when the server ends it at the token's expiry.
func Example_tokenAndTLS() {
	creds, err := client.TLSCredentials("/etc/herald/ca.pem") // "" trusts the system's CAs
	if err != nil {
		log.Fatal(err)
	}
	conn, err := grpc.NewClient("herald.example.com:9090", grpc.WithTransportCredentials(creds))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := client.New(conn, client.WithTokenFunc(func(ctx context.Context) (string, error) {
		return currentToken(ctx) // from your identity service, renewed before it expires
	}))
	if _, err := c.Publish(context.Background(), "orders.created", []byte(`{"id":1}`)); err != nil {
		log.Fatal(err)
	}
}

// currentToken stands for the way a service gets its tokens.
func currentToken(context.Context) (string, error) { return "", nil }
