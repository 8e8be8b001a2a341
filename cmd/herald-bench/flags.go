package main

import "github.com/heraldhq/herald/internal/cliflag"

// envPrefix starts the name of every environment variable that sets a flag:
// --http-addr is HERALD_BENCH_HTTP_ADDR.
const envPrefix = "HERALD_BENCH_"

// command is the flags of the command, each bound to an environment
// variable.
type command = cliflag.Command

// lookupEnv reads an environment variable, like os.LookupEnv.
type lookupEnv = cliflag.LookupEnv

// errHelp reports that --help was asked for and printed.
var errHelp = cliflag.ErrHelp

func newCommand(synopsis, about string, examples ...string) *command {
	return cliflag.New(envPrefix, "herald-bench", synopsis, about, examples...)
}

// envName is the environment variable of a flag.
func envName(flagName string) string { return cliflag.EnvName(envPrefix, flagName) }
