package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
)

// recorderJS creates a Herald client in the page under a name, records every
// event it emits in order, and connects it. Arguments: the name and the
// client's options (a JavaScript expression).
const recorderJS = `(async (name, options) => {
  const { Herald } = await import('/herald.js');
  const log = [];
  const h = new Herald(options);
  for (const type of ['state', 'open', 'message', 'gap', 'error', 'close', 'authenticated']) {
    h.addEventListener(type, (e) => log.push({ type, ...e.detail }));
  }
  (window.clients ??= {})[name] = { h, log };
  h.connect();
  return h.state;
})(%s, %s)`

// event is one recorded client event: the event type and its detail.
type event struct {
	Type string `json:"type"`
	// state
	State    string `json:"state"`
	Previous string `json:"previous"`
	// message
	Topic       string  `json:"topic"`
	ID          *string `json:"id"` // also on error events
	Data        string  `json:"data"`
	DataBase64  *string `json:"dataBase64"`
	ContentType string  `json:"contentType"`
	Event       string  `json:"event"`
	PublishTime string  `json:"publishTime"`
	// open, gap, error
	Topics            []string `json:"topics"`
	CurrentID         string   `json:"currentId"`
	HeartbeatInterval float64  `json:"heartbeatInterval"`
	Transport         string   `json:"transport"`
	RequestedID       string   `json:"requestedId"`
	FirstAvailableID  string   `json:"firstAvailableId"`
	// gap, close, error (the server's reason of a refusal)
	Reason string `json:"reason"`
	// error, close
	Code      any    `json:"code"` // a string on errors, the WebSocket close code on closes
	Message   string `json:"message"`
	Fatal     bool   `json:"fatal"`
	Status    int    `json:"status"`
	CloseCode int    `json:"closeCode"`
	Request   string `json:"request"`
	Reconnect bool   `json:"reconnect"`
	// authenticated
	ExpiresAt string `json:"expiresAt"`
}

// String is the event in the short form the tests compare sequences in:
// "state:open", "message:<id>", "error:<code>", "close:<reason>", "gap", "open".
func (e event) String() string {
	switch e.Type {
	case "state":
		return "state:" + e.State
	case "message":
		if e.ID != nil {
			return "message:" + *e.ID
		}
	case "error":
		return fmt.Sprintf("error:%v", e.Code)
	case "close":
		return "close:" + e.Reason
	}
	return e.Type
}

// startClient creates and connects a recorded Herald client in the page.
func (tb *tab) startClient(name string, options map[string]any) {
	tb.t.Helper()
	tb.startClientWith(name, options, "{}")
}

// startClientWith creates and connects a recorded Herald client in the
// page with options and, over them, the options of the JavaScript object
// expression jsOptions (for what JSON cannot carry, such as functions).
func (tb *tab) startClientWith(name string, options map[string]any, jsOptions string) {
	tb.t.Helper()
	n, _ := json.Marshal(name)
	o, err := json.Marshal(options)
	if err != nil {
		tb.t.Fatal(err)
	}
	expr := fmt.Sprintf("Object.assign(%s, %s)", o, jsOptions)
	if st := eval[string](tb, fmt.Sprintf(recorderJS, n, expr)); st != "connecting" {
		tb.t.Fatalf("client %s: state %q after connect(), want connecting", name, st)
	}
}

// client returns a JavaScript expression for the named client.
func client(name string) string {
	n, _ := json.Marshal(name)
	return fmt.Sprintf("window.clients[%s]", n)
}

// events returns the events the named client recorded so far.
func (tb *tab) events(name string) []event {
	tb.t.Helper()
	return eval[[]event](tb, client(name)+".log")
}

// waitEvent waits until the named client recorded at least count events
// whose short form (event.String) is want.
func (tb *tab) waitEvent(name, want string, count int) {
	tb.t.Helper()
	w, _ := json.Marshal(want)
	tb.waitFor(
		fmt.Sprintf(`%s.log.filter((e) => (%s)(e) === %s).length >= %d`, client(name), shortFormJS, w, count),
		fmt.Sprintf(`'events: ' + %s.log.map(%s).join(' ')`, client(name), shortFormJS))
}

// shortFormJS is event.String in JavaScript.
const shortFormJS = `((e) => e.type === 'state' ? 'state:' + e.state : e.type === 'message' ? 'message:' + e.id :
  e.type === 'error' ? 'error:' + e.code : e.type === 'close' ? 'close:' + e.reason : e.type)`

// sequence returns the short forms of events.
func sequence(events []event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.String()
	}
	return out
}

// only returns the events of the given types.
func only(events []event, types ...string) []event {
	var out []event
	for _, e := range events {
		for _, t := range types {
			if e.Type == t {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func seqString(s []string) string { return strings.Join(s, " ") }
