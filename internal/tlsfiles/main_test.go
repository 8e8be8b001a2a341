package tlsfiles_test

import (
	"testing"

	"github.com/heraldhq/herald/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}
