// Package e2e holds Herald's end-to-end browser tests: they start nodes
// (and bridges in front of them) in the test process and drive Chromium
// through the DevTools protocol (chromedp), running herald.js and the demo
// page in a real browser against Server-Sent Events and WebSocket.
//
// The browser is found on PATH (chromium, chromium-browser, google-chrome)
// or named by HERALD_BROWSER. Without one the tests skip, unless
// HERALD_REQUIRE_BROWSER=1, which CI sets, turns the skip into a failure.
// One browser serves the whole package; every test has its own tab and its
// own nodes and bridges.
package e2e
