package memory

import (
	"testing"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/enginetest"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, cfg enginetest.Config) engine.Engine {
		return New(Options{HistorySize: cfg.HistorySize, QueueLen: cfg.QueueLen})
	})
}
