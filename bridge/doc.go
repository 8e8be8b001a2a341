// Package bridge serves Herald subscriptions to browsers as Server-Sent
// Events and WebSocket connections (docs/browser-protocol.md).
//
// Both transports consume one interface, Source, which has the semantics of
// gRPC Subscribe (replay after an id, live messages, history gaps,
// slow-consumer end) and is served either in-process from the engine or from
// a remote Herald over gRPC, so browser-facing nodes can scale apart from
// the core.
package bridge
