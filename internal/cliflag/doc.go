// Package cliflag defines command-line flags that can also be set by
// environment variables (a flag given on the command line wins; an empty
// variable counts as unset), with help text that lists each flag's
// variable and default. Herald's commands share it so that every binary
// reads its settings the same way.
package cliflag
