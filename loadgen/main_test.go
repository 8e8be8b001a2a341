package loadgen_test

import (
	"github.com/heraldhq/herald/internal/testutil"
	"testing"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}
