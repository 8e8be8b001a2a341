package enginetest

import (
	"testing"

	"github.com/heraldhq/herald/engine"
)

// Config is what a subtest needs from the engine under test. Zero fields
// mean the engine's defaults.
type Config struct {
	// HistorySize is the number of messages retained per topic.
	HistorySize int
	// QueueLen is the default bound of a subscription's live queue, in
	// events.
	QueueLen int
}

// Factory returns a new, running engine configured by cfg. Each call must
// return an engine with a history of its own: messages published to one are
// never seen by another. Run closes every engine it gets when the subtest
// that asked for it ends.
type Factory func(t *testing.T, cfg Config) engine.Engine

// Run runs the conformance suite against the engines factory makes. The
// subtests are parallel and each needs a few hundred milliseconds at most
// on an in-memory engine, under the race detector included.
func Run(t *testing.T, factory Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f Factory)
	}{
		{"PublishSubscribe", testPublishSubscribe},
		{"InvalidInput", testInvalidInput},
		{"OneOrderAcrossTopics", testOneOrder},
		{"Wildcards", testWildcards},
		{"LiveOnly", testLiveOnly},
		{"Resume", testResume},
		{"ResumeFromPosition", testResumeFromPosition},
		{"ResumeFromEmptyPosition", testResumeFromEmptyPosition},
		{"ResumeTruncated", testResumeTruncated},
		{"ResumeForeignEpoch", testResumeForeignEpoch},
		{"FutureID", testFutureID},
		{"Idempotency", testIdempotency},
		{"SlowConsumer", testSlowConsumer},
		{"SlowConsumerQueueOverride", testSlowConsumerQueueOverride},
		{"EngineClose", testEngineClose},
		{"SubscriptionClose", testSubscriptionClose},
		{"NextContext", testNextContext},
		{"TryNext", testTryNext},
		{"Postponer", testPostponer},
		{"Stress", testStress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, factory)
		})
	}
}
