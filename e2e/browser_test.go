package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

// Bounds of the tests, generous for a busy machine.
const (
	// waitTimeout bounds every wait for something to happen in the page.
	waitTimeout = 20 * time.Second
	// pollInterval is how often a wait evaluates its condition.
	pollInterval = 25 * time.Millisecond
)

// browserNames are the executables looked up on PATH, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// The package's browser, started by the first test that needs it and
// stopped by TestMain.
var browser struct {
	once     sync.Once
	ctx      context.Context // a chromedp context with a running browser
	stop     func()
	err      error
	path     string
	userData string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.stop != nil {
		browser.stop()
	}
	if browser.userData != "" {
		_ = os.RemoveAll(browser.userData)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// findBrowser returns the browser's path, or skips the test (fails it when
// HERALD_REQUIRE_BROWSER=1) when there is none.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HERALD_BROWSER"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("HERALD_BROWSER=%s: %v", p, err)
		}
		return path
	}
	for _, name := range browserNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("no browser found on PATH (looked for %s); install Debian's chromium package "+
		"(apt-get install chromium) or set HERALD_BROWSER", strings.Join(browserNames, ", "))
	if os.Getenv("HERALD_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; HERALD_REQUIRE_BROWSER=1 forbids skipping")
	}
	t.Skip(msg)
	return ""
}

// startBrowser starts the package's browser once.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findBrowser(t)
	browser.once.Do(func() {
		browser.path = path
		dir, err := os.MkdirTemp("", "herald-e2e-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		browser.userData = dir
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(dir),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		browser.stop = func() { cancelBrowser(); cancelAlloc() }
		// The first action starts the browser: no deadline on its context,
		// which the browser lives in.
		browser.ctx = bctx
		browser.err = chromedp.Do(bctx, chromedp.Navigate("about:blank"))
	})
	if browser.err != nil {
		t.Fatalf("starting %s: %v", browser.path, browser.err)
	}
	return browser.ctx
}

// tab is one browser tab of a test.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
}

// newTab opens a tab in the package's browser and navigates it to url.
// Uncaught exceptions in the page fail the test. The tab closes when the
// test ends.
func newTab(t *testing.T, url string) *tab {
	t.Helper()
	bctx := startBrowser(t)
	ctx, cancel := chromedp.NewContext(bctx)
	tb := &tab{t: t, ctx: ctx}
	t.Cleanup(func() {
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.exceptions {
			t.Errorf("uncaught exception in the page: %s", e)
		}
	})
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*runtime.EventExceptionThrown); ok {
			tb.mu.Lock()
			tb.exceptions = append(tb.exceptions, exceptionText(ev.ExceptionDetails))
			tb.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("navigating to %s: %v", url, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("navigating to %s: status %d", url, resp.Status)
	}
	return tb
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// eval evaluates a JavaScript expression in the page, awaiting it when it is
// a promise, and decodes its value into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", short(expr), err)
	}
	return v
}

// waitFor polls a JavaScript condition in the page until it is truthy, and
// fails the test with describe's value (a JavaScript expression too) when it
// does not become truthy in time.
func (tb *tab) waitFor(cond, describe string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(pollInterval), chromedp.WithPollingTimeout(waitTimeout)))
	if err == nil {
		return
	}
	state := "?"
	if describe != "" {
		sctx, scancel := context.WithTimeout(tb.ctx, 5*time.Second)
		if s, derr := chromedp.Run(sctx, chromedp.Evaluate[string](describe)); derr == nil {
			state = s
		}
		scancel()
	}
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		tb.t.Fatalf("timed out after %v waiting for %s; %s", waitTimeout, short(cond), state)
	}
	tb.t.Fatalf("waiting for %s: %v; %s", short(cond), err, state)
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
