// Package enginetest is the conformance suite every Herald engine must
// pass: ordering, wildcard routing, live-only and resumed subscriptions,
// explicit gaps, idempotency, slow-consumer isolation, closing, and a
// stress test of publishes racing resuming subscribers.
//
// An engine's own tests call Run with a Factory:
//
//	func TestConformance(t *testing.T) {
//		enginetest.Run(t, func(t *testing.T, cfg enginetest.Config) engine.Engine {
//			return memory.New(memory.Options{HistorySize: cfg.HistorySize, QueueLen: cfg.QueueLen})
//		})
//	}
//
// The suite makes no assumption about the form of epochs or about timing:
// it waits for events with generous timeouts, so a distributed engine can
// pass it as well as the in-memory one. Subtests run in parallel, each on
// an engine of its own, and each uses topic names under a random prefix.
package enginetest
