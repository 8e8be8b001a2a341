// Package memory is Herald's embedded engine: a bounded history per topic
// and subscription routing, all in the memory of one process. It needs no
// other process, file or setting, which makes it the default engine.
//
// # Positions
//
// Every New draws a random non-zero epoch; sequence numbers start at 1 and
// grow by one per accepted message across all topics. A restart therefore
// changes the epoch, and a subscriber resuming from an id of the earlier
// run gets one GapEpochChanged notice followed by everything retained.
//
// # Retention
//
// Each topic keeps its newest Options.HistorySize messages, each for at
// most Options.HistoryTTL. Idempotency keys are remembered exactly as long
// as the message published with them. Expiry by age happens lazily when a
// topic is published to or replayed, and in a background janitor that runs
// every Options.JanitorInterval. A topic with no retained message, no
// subscription naming it literally and no publish for HistoryTTL is
// forgotten; a resume from a position older than a forgotten topic's last
// message then gets a conservative gap notice for all of its patterns, as
// the engine no longer knows whether they matched that topic.
//
// # Delivery
//
// Publish and Subscribe serialise on one engine mutex: Publish assigns the
// sequence number, appends to the history and offers the message to every
// matching subscription; Subscribe registers the subscription and copies
// its replay out of the history. Replay therefore ends exactly where live
// delivery starts, with no gap and no duplicate, however publishes race
// the Subscribe call. Literal patterns are found by one map lookup;
// wildcard patterns are matched once per distinct pattern per publish.
//
// Each subscription has a live queue bounded in events and payload bytes.
// Offering a message never blocks: when the queue is full the subscription
// ends with engine.ErrSlowConsumer, its queued events are dropped, and it
// leaves the index; nobody else notices. Replayed history is held apart,
// is not counted against the bounds, and is delivered first. There is no
// goroutine per subscription: Next drains the queue directly and otherwise
// waits on a one-slot wake channel, which a message landing on an empty
// queue signals, unless the subscription's Postponer takes that wake-up
// over.
//
// # Concurrency
//
// An Engine is safe for concurrent use. A Subscription's Next must be
// called from one goroutine at a time; its Close is safe to call
// concurrently with Next and more than once. Close the Engine to stop the
// janitor goroutine; Close is idempotent.
//
// Lock order: the engine mutex (Engine.mu) before a subscription's mutex
// (subscription.mu), never the other way round. Publish and Engine.Close
// take subscription mutexes under the engine mutex, one at a time; the
// janitor takes only the engine mutex; Subscribe takes the engine mutex,
// releases it, then the new subscription's mutex; Subscription.Next takes
// only its own mutex; Subscription.Close takes the engine mutex, releases
// it, then its own. No mutex is held while waiting for a reader.
package memory
