package app_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one dispatched event of an event stream.
type sseEvent struct {
	id, event, data, retry string
	hasID                  bool
}

// sseStream reads an event stream.
type sseStream struct {
	resp *http.Response
	r    *bufio.Reader
}

// openSSE requests url with header and returns the stream, closed at the
// end of the test, once it answered 200.
func openSSE(t *testing.T, hc *http.Client, url string, header http.Header) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return &sseStream{resp: resp, r: bufio.NewReader(resp.Body)}
}

// read returns the next event (a block of fields ended by a blank line),
// or the error that ended the stream.
func (s *sseStream) read() (sseEvent, error) {
	var ev sseEvent
	var data []string
	seen := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if seen {
				ev.data = strings.Join(data, "\n")
				return ev, nil
			}
			continue
		}
		seen = true
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			ev.id, ev.hasID = value, true
		case "event":
			ev.event = value
		case "data":
			data = append(data, value)
		case "retry":
			ev.retry = value
		}
	}
}

// next returns the next event that is not a heartbeat or a bare retry.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev, err := s.read()
		if err != nil {
			t.Fatalf("reading the event stream: %v", err)
		}
		if ev.event != "herald.heartbeat" && (ev.event != "" || ev.data != "" || ev.id != "") {
			return ev
		}
	}
}

// rest reads the stream to its end and returns its events.
func (s *sseStream) rest(t *testing.T) []sseEvent {
	t.Helper()
	var evs []sseEvent
	for {
		ev, err := s.read()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("reading the event stream: %v", err)
		}
		evs = append(evs, ev)
	}
}

// h2cClient returns a client that speaks HTTP/2 with prior knowledge on
// plain connections, closed at the end of the test.
func h2cClient(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
