package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// sseConn is a subscriber over GET /v1/sse.
type sseConn struct {
	client   *http.Client
	url      string
	envelope bool

	ctx    context.Context // the request's; canceled by close
	cancel context.CancelFunc
	resp   *http.Response
	parser *sseParser
}

// newSSEConn returns a subscriber that requests base + /v1/sse for topic
// through client.
func newSSEConn(ctx context.Context, client *http.Client, base, topic string, envelope bool) *sseConn {
	q := url.Values{"topic": {topic}}
	if envelope {
		q.Set("envelope", "1")
	}
	ctx, cancel := context.WithCancel(ctx)
	return &sseConn{client: client, url: base + "/v1/sse?" + q.Encode(), envelope: envelope, ctx: ctx, cancel: cancel}
}

func (c *sseConn) open(ctx context.Context) error {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	// The request lives as long as the connection, but the response must
	// start within ctx.
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /v1/sse: %w", err)
	}
	c.resp = resp
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/sse: %w", httpError(resp))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return fmt.Errorf("GET /v1/sse: Content-Type %q, want text/event-stream", resp.Header.Get("Content-Type"))
	}
	c.parser = newSSEParser(resp.Body)
	for {
		ev, err := c.parser.next()
		if err != nil {
			return fmt.Errorf("GET /v1/sse: before the subscription was confirmed: %w", err)
		}
		switch string(ev.Type) {
		case "herald.subscribed":
			return nil
		case "herald.error":
			return fmt.Errorf("GET /v1/sse: %w", &serverClosedError{reason: string(ev.Data)})
		}
	}
}

func (c *sseConn) read(s *subscriber) error {
	for {
		ev, err := c.parser.next()
		if err != nil {
			return err
		}
		switch typ := string(ev.Type); {
		case typ == "herald.heartbeat":
			s.heartbeat()
		case typ == "herald.gap":
			s.gap()
		case typ == "herald.error":
			return &serverClosedError{reason: errorCode(ev.Data)}
		case strings.HasPrefix(typ, "herald."):
			// Other control events carry no message.
		case c.envelope:
			_, data, ok, _ := decodeFrame(ev.Data)
			if !ok {
				s.foreign++
				continue
			}
			s.message(data)
		default:
			s.message(ev.Data)
		}
	}
}

func (c *sseConn) close() {
	c.cancel()
	if c.resp != nil {
		_ = c.resp.Body.Close()
	}
}

// httpError describes a refused request by its status and the start of
// its body (Herald's JSON error).
func httpError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return fmt.Errorf("HTTP %s: %s", resp.Status, body)
}

// errorCode returns the code of a herald.error event's data
// ({"code":"slow_consumer","message":"…"}), or the data itself when it has
// none.
func errorCode(data []byte) string {
	if code, ok, _ := scanStringField(data, `"code":"`); ok {
		return string(code)
	}
	if len(data) > 100 {
		data = data[:100]
	}
	return string(data)
}
