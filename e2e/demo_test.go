package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// (c) The demo page: it connects by itself, shows what is published — from
// its own form and from Go — with ids and topics, and disconnects.
func TestDemoPage(t *testing.T) {
	transports(t, func(t *testing.T, transport string) {
		node := startNode(t, "127.0.0.1:0")
		base := baseURL(node)
		g := newGate(t, node.HTTPAddr().String())
		tb := newTab(t, fmt.Sprintf("%s/?topic=demo.%s&transport=%s", g.URL(), transport, transport))
		tb.waitFor(`document.getElementById('state').textContent === 'open'`,
			`'state ' + document.getElementById('state').textContent + ', error ' + document.getElementById('error').textContent`)

		// The style is applied: the policy allowed it.
		if r := eval[string](tb, `getComputedStyle(document.getElementById('state')).borderTopLeftRadius`); r == "0px" || r == "" {
			t.Errorf("the page's style is not applied (border radius %q)", r)
		}
		if got := eval[string](tb, `document.getElementById('publish-topic').value`); got != "demo."+transport {
			t.Errorf("publish topic %q, want the page's topic", got)
		}

		// Publish from the page's form.
		text := "typed in the " + transport + " page"
		ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
		defer cancel()
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("publish-text"), text),
			chromedp.Click(chromedp.ID("publish-button")),
		); err != nil {
			t.Fatalf("publishing from the form: %v", err)
		}
		tb.waitFor(`document.getElementById('publish-result').textContent.startsWith('published as ')`,
			`'result: ' + document.getElementById('publish-result').textContent`)
		id := strings.TrimPrefix(eval[string](tb, `document.getElementById('publish-result').textContent`), "published as ")
		item := fmt.Sprintf(`document.querySelector('#messages li.message[data-id=%q]')`, id)
		tb.waitFor(item+` !== null`, `'messages: ' + document.getElementById('messages').innerText`)
		if got := eval[string](tb, item+`.querySelector('.data').textContent`); got != text {
			t.Errorf("shown data %q, want %q", got, text)
		}
		if got := eval[string](tb, item+`.innerText`); !strings.Contains(got, "demo."+transport) || !strings.Contains(got, id) {
			t.Errorf("shown message %q lacks its topic or id", got)
		}
		if got := eval[string](tb, `document.getElementById('publish-text').value`); got != "" {
			t.Errorf("the form kept the text %q after publishing", got)
		}

		// Publish from Go: shown on top, and the last id follows.
		p := publish(t, base, "demo."+transport, "text/plain", "", []byte("<b>from Go</b>"))
		tb.waitFor(fmt.Sprintf(`document.querySelector('#messages li.message')?.dataset.id === %q`, p.ID),
			`'messages: ' + document.getElementById('messages').innerText`)
		if got := eval[string](tb, `document.querySelector('#messages li.message .data').textContent`); got != "<b>from Go</b>" {
			t.Errorf("shown data %q: the page must show text, not markup", got)
		}
		if got := eval[int](tb, `document.querySelectorAll('#messages li.message').length`); got != 2 {
			t.Errorf("%d messages shown, want 2", got)
		}
		if got := eval[string](tb, `document.getElementById('last-id').textContent`); got != p.ID {
			t.Errorf("last id shown %q, want %q", got, p.ID)
		}

		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("disconnect"))); err != nil {
			t.Fatal(err)
		}
		tb.waitFor(`document.getElementById('state').textContent === 'closed'`, `document.getElementById('state').textContent`)
	})
}
