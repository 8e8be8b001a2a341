package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad command line or environment
)

// env is what a command gets from its process: environment variables and
// standard streams. Tests supply their own.
type env struct {
	lookup lookupEnv
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// subcommand runs one command with its arguments (after the command name)
// and returns the exit code.
type subcommand func(ctx context.Context, args []string, e env) int

// lookupCommand returns the subcommand called name.
func lookupCommand(name string) (subcommand, bool) {
	switch name {
	case "serve":
		return runServe, true
	case "bridge":
		return runBridge, true
	case "publish":
		return runPublish, true
	case "subscribe":
		return runSubscribe, true
	case "token":
		return runToken, true
	case "version":
		return runVersion, true
	}
	return nil, false
}

const usageText = `herald — realtime pub/sub gateway

Usage:
  herald [serve] [flags]           run a node (the default command)
  herald bridge --upstream ADDR    serve browsers and HTTP in front of another node
  herald publish [flags] [DATA]    publish one message
  herald subscribe [flags]         print the messages of topics as they arrive
  herald token [flags]             print a development token signed with an HMAC secret
  herald version                   print the version
  herald help [COMMAND]            show help

Every flag can also be set by an environment variable: --grpc-addr is
HERALD_GRPC_ADDR. Run 'herald COMMAND --help' for a command's flags.

Examples:
  herald serve
  herald bridge --upstream herald-core:9090 --http-addr :8081
  herald subscribe --topic 'orders.>'
  herald publish --topic orders.created '{"id":1}'
  herald publish --server herald:9090 --ca-file ca.pem --token "$TOKEN" --topic news hi
`

// execute runs the command line args (without the program name) and
// returns the process exit code. ctx ends on SIGINT or SIGTERM.
func execute(ctx context.Context, args []string, e env) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		name, args = "help", nil
	}
	if name == "help" {
		return runHelp(args, e)
	}
	cmd, ok := lookupCommand(name)
	if !ok {
		fmt.Fprintf(e.stderr, "herald: unknown command %q\n\n%s", name, usageText)
		return exitUsage
	}
	return cmd(ctx, args, e)
}

// runHelp prints the general help, or a command's with `help COMMAND`.
func runHelp(args []string, e env) int {
	if len(args) == 0 {
		_, _ = io.WriteString(e.stdout, usageText)
		return exitOK
	}
	cmd, ok := lookupCommand(args[0])
	if !ok || len(args) > 1 {
		fmt.Fprintf(e.stderr, "herald help: unknown command %q\n\n%s", strings.Join(args, " "), usageText)
		return exitUsage
	}
	return cmd(context.Background(), []string{"--help"}, e)
}

// parseFlags parses a command's flags and reports how it went: ok is false
// when the command must end at once with code (0 after --help, 2 after a
// bad flag, with a message on stderr).
func parseFlags(c *command, args []string, e env) (rest []string, code int, ok bool) {
	rest, err := c.Parse(args, e.lookup, e.stdout)
	switch {
	case errors.Is(err, errHelp):
		return nil, exitOK, false
	case err != nil:
		return nil, usageError(e, c.Name(), "%v", err), false
	}
	return rest, exitOK, true
}

// usageError prints a usage problem of the named command and returns the
// usage exit code.
func usageError(e env, name, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "herald %s: %s\nRun 'herald %s --help' for usage.\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

// failure prints why the named command failed and returns the failure exit
// code.
func failure(e env, name string, err error) int {
	fmt.Fprintf(e.stderr, "herald %s: %v\n", name, err)
	return exitFailure
}
