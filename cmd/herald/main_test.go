package main

import (
	"context"
	"github.com/heraldhq/herald/internal/testutil"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer = testutil.Buffer

// result is what a command run in-process left behind.
type result struct {
	code           int
	stdout, stderr string
}

// run executes a command line with the given environment variables and
// stdin, and returns its exit code and output.
func run(t *testing.T, ctx context.Context, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := execute(ctx, args, testEnv(vars, stdin, &stdout, &stderr))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func testEnv(vars map[string]string, stdin string, stdout, stderr *syncBuffer) env {
	return env{
		lookup: func(name string) (string, bool) {
			v, ok := vars[name]
			return v, ok
		},
		stdin:  strings.NewReader(stdin),
		stdout: stdout,
		stderr: stderr,
	}
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor
