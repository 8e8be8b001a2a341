package ws

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/internal/subreq"
	"github.com/heraldhq/herald/topic"
)

// A connection has one subscription, whatever its topics, and one
// position: the last message written, or before any, the handshake's
// last_event_id or the first subscription's current id. Changing the
// topics replaces the subscription by one for the new set that resumes
// from that position, so the topics kept lose and repeat nothing. These
// methods belong to the writer.

// subscribe answers a "subscribe" frame: it subscribes to the frame's
// topics and the connection's, after the frame's last_event_id or else the
// connection's position. The request rate, the connection's identity and
// the topic limit (counting every topic the connection would hold) must
// admit it. It returns false when the connection ends.
func (c *conn) subscribe(r *request) bool {
	if err := c.rate.Allow(); err != nil {
		return c.refused(err, r.id, false)
	}
	// Validated here, with the Source's errors, whose indexes point into
	// the frame, so that the topics can be authorized and counted.
	patterns, err := bridge.ParsePatterns(r.topics, r.lastEventID)
	if err != nil {
		return c.malformed(codeInvalidArgument, status.Convert(err).Message(), r.id)
	}
	if err := c.id.AuthorizeSubscribe(patterns); err != nil {
		return c.refused(err, r.id, true)
	}
	topics := make([]string, 0, len(patterns)+len(c.topics))
	for _, p := range patterns {
		topics = append(topics, p.String())
	}
	for _, t := range c.topics {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	if err := c.h.access.Limits().CheckTopics(len(topics)); err != nil {
		return c.refused(err, r.id, false)
	}
	after := r.lastEventID
	if after == "" {
		after = c.position()
	}
	return c.resubscribe(topics, after, r.lastEventID != "", r.id)
}

// unsubscribe answers an "unsubscribe" frame: it re-subscribes the topics
// left from the connection's position, or drops the subscription when
// none is left. Topics not subscribed are ignored. The request rate must
// admit it: it costs a new subscription like a subscribe frame. It
// returns false when the connection ends.
func (c *conn) unsubscribe(r *request) bool {
	if err := c.rate.Allow(); err != nil {
		return c.refused(err, r.id, false)
	}
	remove := make([]string, 0, len(r.topics))
	for i, t := range r.topics {
		p, err := topic.ParsePattern(t)
		if err != nil {
			return c.malformed(codeInvalidArgument, fmt.Sprintf("topics[%d]: %s", i, subreq.TopicMessage(err)), r.id)
		}
		remove = append(remove, p.String())
	}
	rest := slices.DeleteFunc(slices.Clone(c.topics), func(t string) bool { return slices.Contains(remove, t) })
	switch {
	case len(rest) == len(c.topics):
		c.batch().subscribed(c.topics, c.position(), c.interval)
	case len(rest) == 0:
		c.sub.Close()
		c.setSub(nil)
		c.topics = nil
		c.h.met.Subscriptions.Dec()
		c.batch().subscribed([]string{}, c.position(), c.interval)
	default:
		return c.resubscribe(rest, c.position(), false, r.id)
	}
	return true
}

// resubscribe subscribes to topics after the position after (empty for
// live only) and replaces the connection's subscription with the new one.
// reposition says that after is the client's choice, which becomes the
// connection's position. On error the old subscription stays and the
// client gets an error frame. It returns false when the connection ends.
func (c *conn) resubscribe(topics []string, after string, reposition bool, id []byte) bool {
	ctx, cancel := context.WithTimeout(c.ctx, subscribeTimeout)
	sub, err := c.h.src.Subscribe(ctx, bridge.Request{Topics: topics, LastEventID: after})
	cancel()
	if err != nil {
		return c.subscribeFailed(err, id)
	}
	if c.sub != nil {
		c.sub.Close()
	} else {
		c.h.met.Subscriptions.Inc()
	}
	c.setSub(sub)
	s := sub.Subscribed()
	c.topics = keepOrder(c.topics, s.Topics)
	if reposition || after == "" {
		c.last = engine.ID{}
		c.base = after
		if after == "" {
			c.base = s.CurrentID
		}
	}
	c.batch().subscribed(c.topics, s.CurrentID, c.interval)
	return true
}

// subscribeFailed answers a subscription change the Source refused. It
// returns false when the connection ends.
func (c *conn) subscribeFailed(err error, id []byte) bool {
	if c.ctx.Err() != nil {
		return false // the connection is ending
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return c.malformed(codeInvalidArgument, st.Message(), id)
	case codes.Unavailable:
		c.end(discSourceClosed)
		return false
	case codes.Internal, codes.Unknown:
		c.h.log.LogAttrs(context.Background(), slog.LevelError, "websocket subscribe failed",
			slog.String("remote", c.remote), slog.String("error", err.Error()))
		c.batch().errorFrame("internal", "internal error", id)
	default:
		c.batch().errorFrame(gateway.CodeName(st.Code()), st.Message(), id)
	}
	return true
}

// keepOrder returns topics ordered as old where they were in old, with the
// others after them in their own order, so that a subscription change does
// not reshuffle the topics a client sees confirmed.
func keepOrder(old, topics []string) []string {
	out := make([]string, 0, len(topics))
	for _, t := range old {
		if slices.Contains(topics, t) {
			out = append(out, t)
		}
	}
	for _, t := range topics {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
