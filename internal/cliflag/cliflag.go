package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LookupEnv reads an environment variable, like os.LookupEnv.
type LookupEnv func(name string) (string, bool)

// Command is one command's flags, each bound to an environment variable,
// with the help text that lists them. Define flags, then Parse once; a
// Command is not safe for concurrent use.
type Command struct {
	name      string   // "serve"
	envPrefix string   // "HERALD_"
	synopsis  string   // "herald serve [flags]"
	about     string   // what the command does, for --help
	examples  []string // command lines for --help
	fs        *flag.FlagSet
	flags     []flagDoc // in the order they were defined
}

// flagDoc is what --help says about one flag.
type flagDoc struct {
	name, arg, usage, def string
}

// New returns a command named name whose flags are also read from
// environment variables named envPrefix plus the flag's name in upper case
// with dashes as underscores ("HERALD_" and --grpc-addr: HERALD_GRPC_ADDR).
func New(envPrefix, name, synopsis, about string, examples ...string) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by Parse
	return &Command{name: name, envPrefix: envPrefix, synopsis: synopsis, about: about, examples: examples, fs: fs}
}

// Name returns the command's name.
func (c *Command) Name() string { return c.name }

// EnvName is the environment variable of a flag.
func (c *Command) EnvName(flagName string) string {
	return EnvName(c.envPrefix, flagName)
}

// EnvName is the environment variable, with prefix, of a flag.
func EnvName(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (c *Command) add(v flag.Value, name, arg, usage, def string) {
	c.fs.Var(v, name, usage)
	c.flags = append(c.flags, flagDoc{name: name, arg: arg, usage: usage, def: def})
}

// String defines a string flag.
func (c *Command) String(p *string, name, arg, def, usage string) {
	*p = def
	c.add((*stringValue)(p), name, arg, usage, strconv.Quote(def))
}

// Duration defines a flag for a positive duration in Go syntax.
func (c *Command) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	c.add(&durationValue{p: p}, name, "DURATION", usage, FormatDuration(def))
}

// DurationOrZero defines a flag for a duration in Go syntax that may also
// be zero.
func (c *Command) DurationOrZero(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	c.add(&durationValue{p: p, zeroOK: true}, name, "DURATION", usage, FormatDuration(def))
}

// Int defines a flag for a positive integer.
func (c *Command) Int(p *int, name, arg string, def int, usage string) {
	*p = def
	c.add(&intValue{p: p}, name, arg, usage, strconv.Itoa(def))
}

// IntOrZero defines a flag for an integer that may also be zero, for
// settings where zero means "none" or "automatic"; defText is how --help
// shows the default.
func (c *Command) IntOrZero(p *int, name, arg string, def int, defText, usage string) {
	*p = def
	c.add(&intValue{p: p, zeroOK: true}, name, arg, usage, defText)
}

// RateOrZero defines a flag for a rate per second that may be fractional
// (0.5 is one every two seconds) or zero, for settings where zero means
// "no limit"; defText is how --help shows the default.
func (c *Command) RateOrZero(p *float64, name, arg string, def float64, defText, usage string) {
	*p = def
	c.add((*rateValue)(p), name, arg, usage, defText)
}

// Bool defines a boolean flag (--name, --name=false).
func (c *Command) Bool(p *bool, name string, def bool, usage string) {
	*p = def
	c.add((*boolValue)(p), name, "", usage, strconv.FormatBool(def))
}

// List defines a flag that may be repeated and takes comma-separated
// values.
func (c *Command) List(p *[]string, name, arg, usage string) {
	c.add((*listValue)(p), name, arg, usage, "none")
}

// Enum defines a flag whose value is one of choices.
func (c *Command) Enum(p *string, name string, choices []string, def, usage string) {
	*p = def
	c.add(&enumValue{p: p, choices: choices}, name, strings.Join(choices, "|"), usage, def)
}

// ErrHelp reports that --help was asked for and printed.
var ErrHelp = errors.New("cliflag: help requested")

// Parse parses args, then sets every flag that args left unset from its
// environment variable (an empty variable counts as unset): flags given on
// the command line win. It returns the arguments after the flags. On
// --help it prints the help to stdout and returns ErrHelp; on a bad flag or
// variable it returns an error that names it.
func (c *Command) Parse(args []string, env LookupEnv, stdout io.Writer) ([]string, error) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.Usage(stdout)
			return nil, ErrHelp
		}
		return nil, err
	}
	given := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, d := range c.flags {
		if given[d.name] {
			continue
		}
		v, ok := env(c.EnvName(d.name))
		if !ok || v == "" {
			continue
		}
		if err := c.fs.Set(d.name, v); err != nil {
			return nil, fmt.Errorf("invalid value %q for $%s: %w", v, c.EnvName(d.name), err)
		}
	}
	return c.fs.Args(), nil
}

// Usage prints the command's help: synopsis, description, every flag with
// its environment variable and default, and examples.
func (c *Command) Usage(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n\nFlags (each can also be set by the environment variable shown; a flag on\nthe command line wins):\n", c.synopsis, c.about)
	for _, d := range c.flags {
		head := "  --" + d.name
		if d.arg != "" {
			head += " " + d.arg
		}
		b.WriteString(head + "\n")
		for _, line := range wrap(d.usage, usageWidth) {
			b.WriteString("      " + line + "\n")
		}
		fmt.Fprintf(&b, "      env %s, default %s\n", c.EnvName(d.name), d.def)
	}
	if len(c.examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range c.examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// usageWidth is the width flag descriptions are wrapped to, not counting
// their indentation.
const usageWidth = 72

// wrap splits text into lines of at most width characters at spaces (a
// longer word gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// FormatDuration formats d like time.Duration.String without zero units
// at the end: 10m rather than 10m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if d == 0 {
		return s
	}
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Flag value types. Their errors become part of the flag package's
// "invalid value ... for flag ..." message, so they say what is expected.

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type durationValue struct {
	p      *time.Duration
	zeroOK bool
}

func (v *durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (use Go syntax such as 500ms, 15s, 2m)")
	}
	switch {
	case d < 0:
		return errors.New("must not be negative")
	case d == 0 && !v.zeroOK:
		return errors.New("must be positive")
	}
	*v.p = d
	return nil
}

type intValue struct {
	p      *int
	zeroOK bool
}

func (v *intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	switch {
	case n > 0, n == 0 && v.zeroOK:
	case v.zeroOK:
		return errors.New("must not be negative")
	default:
		return errors.New("must be positive")
	}
	*v.p = n
	return nil
}

type rateValue float64

func (v *rateValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

func (v *rateValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		return errors.New("not a number")
	case f < 0:
		return errors.New("must not be negative")
	}
	*v = rateValue(f)
	return nil
}

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not a boolean (use true or false)")
	}
	*v = boolValue(b)
	return nil
}

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*v = append(*v, item)
		}
	}
	return nil
}

type enumValue struct {
	p       *string
	choices []string
}

func (v *enumValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v *enumValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		return fmt.Errorf("must be one of %s", strings.Join(v.choices, ", "))
	}
	*v.p = s
	return nil
}
