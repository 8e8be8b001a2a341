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
