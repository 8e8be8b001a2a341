package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// runVersion prints the module version and, for builds from a checkout,
// the revision it was built from.
func runVersion(_ context.Context, args []string, e env) int {
	c := newCommand("version", "herald version", "Print the version of herald and the Go version it was built with.")
	rest, code, ok := parseFlags(c, args, e)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(e, "version", "unexpected argument %q", rest[0])
	}
	fmt.Fprintln(e.stdout, versionString())
	return exitOK
}

func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "herald (unknown version)"
	}
	v := "herald " + info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v + " " + info.GoVersion
}
