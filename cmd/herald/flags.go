package main

import "github.com/heraldhq/herald/internal/cliflag"

// envPrefix starts the name of every environment variable that sets a flag:
// --grpc-addr is HERALD_GRPC_ADDR.
const envPrefix = "HERALD_"

// command is one subcommand's flags, each bound to an environment variable.
type command = cliflag.Command

// lookupEnv reads an environment variable, like os.LookupEnv.
type lookupEnv = cliflag.LookupEnv

// errHelp reports that --help was asked for and printed.
var errHelp = cliflag.ErrHelp

func newCommand(name, synopsis, about string, examples ...string) *command {
	return cliflag.New(envPrefix, name, synopsis, about, examples...)
}

// envName is the environment variable of a flag.
func envName(flagName string) string { return cliflag.EnvName(envPrefix, flagName) }
