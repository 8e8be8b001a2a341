// Package web serves Herald's browser client and demo page, embedded in the
// binary:
//
//	GET /             the demo page: subscribe to topics over SSE or
//	                  WebSocket, watch messages and gaps live, publish
//	GET /herald.js    the client, an ES module with no dependencies
//	GET /herald.d.ts  its TypeScript declarations
//
// Each file is served with its Content-Type, a strong ETag (a hash of its
// content) and "Cache-Control: no-cache", so browsers revalidate and get a
// 304 while the file is unchanged. The page carries a Content-Security-Policy
// that allows only its own inline script and style (by hash), the module and
// same-origin connections. Every route also answers HEAD; another method is
// refused with 405 and an Allow header, and any other path with 404, both
// with Herald's JSON error body ({"code","message","details"}).
//
// The client and its protocol are described in docs/browser-client.md and
// docs/browser-protocol.md.
//
// The handler returned by Handler is safe for concurrent use.
package web
