// Command herald runs a Herald node and talks to one.
//
//	herald [serve] [flags]          run a node (the default command)
//	herald publish [flags] [DATA]   publish one message
//	herald subscribe [flags]        print the messages of topics as they arrive
//	herald bridge [flags]           serve browsers in front of another node
//	herald token [flags]            print a development token
//	herald version                  print the version
//
// Every flag can also be set by an environment variable named after it:
// --grpc-addr is HERALD_GRPC_ADDR. A flag given on the command line wins over
// its variable, and an empty variable counts as unset. `herald COMMAND
// --help` lists a command's flags with their variables and defaults.
//
// Exit codes: 0 on success (and after SIGINT or SIGTERM), 1 when the command
// ran and failed, 2 for a bad command line or environment.
//
// The commands' logic takes its arguments, environment lookup and standard
// streams as parameters (see execute), so that tests run it in-process;
// main only wires it to the process. Each command runs on the calling
// goroutine; serve and subscribe stop when the context built from SIGINT and
// SIGTERM ends.
package main
