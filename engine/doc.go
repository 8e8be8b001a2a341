// Package engine defines the contract between Herald's transports and the
// systems that store and route messages: the Engine interface, message IDs
// (an epoch plus a sequence number, one order for all topics), messages with
// their per-format encoding cache, and subscription events (messages and
// history-gap notices).
//
// Engines live in sub-packages (engine/memory is the embedded default);
// engine/enginetest is the conformance suite every engine must pass. Nothing
// above this package knows which engine runs.
package engine
