// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// parseArgs parses args with fs, which writes to its output (stderr),
// taking flags before, between and after the positional arguments: the
// flag package alone stops at the first positional argument, so that
// "xabench repro b1-add-folio-split --variant fixed" would lose its
// flags. "--" ends the flags; what follows it is positional. It returns
// the positional arguments, in order, and the exit status to stop with
// (0 for -h, 2 for a bad flag, whose message and the usage fs has
// written), or -1 to go on.
func parseArgs(fs *flag.FlagSet, args []string) (pos []string, rc int) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0
			}
			return nil, 2
		}
		rest := fs.Args()
		if endedByDashDash(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), -1
		}
		if len(rest) == 0 {
			return pos, -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endedByDashDash reports whether the arguments that fs.Parse consumed
// ended with the "--" that ends the flags, rather than with a flag whose
// value is "--".
func endedByDashDash(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		a := consumed[i]
		if a == "--" {
			return true
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // the flag's value
	}
	return false
}

// parseFlags is parseArgs for a command that takes no positional
// arguments: one is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) int {
	pos, rc := parseArgs(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) > 0 {
		return usageError(fs, "unexpected argument %q", pos[0])
	}
	return -1
}

// usageError writes "xabench <command>: " and the message, then the
// command's usage, to fs's output, and returns the exit status of a usage
// error, 2.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "xabench %s: %s\n\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return 2
}

// mustBePositive returns a usage error if the duration flag name holds a
// value that is not positive, else -1.
func mustBePositive(fs *flag.FlagSet, name string, d time.Duration) int {
	if d <= 0 {
		return usageError(fs, "--%s %v: must be positive", name, d)
	}
	return -1
}

// mustBeAtLeast returns a usage error if the int flag name holds a value
// below least, else -1.
func mustBeAtLeast(fs *flag.FlagSet, name string, v, least int) int {
	if v < least {
		return usageError(fs, "--%s %d: must be at least %d", name, v, least)
	}
	return -1
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// regexpValue is a flag holding a regular expression, compiled as it is
// set.
type regexpValue struct{ re *regexp.Regexp }

func (r *regexpValue) String() string {
	if r == nil || r.re == nil {
		return ""
	}
	return r.re.String()
}

func (r *regexpValue) Set(s string) error {
	re, err := regexp.Compile(s)
	if err != nil {
		return err
	}
	r.re = re
	return nil
}

// positiveInts is a flag holding a comma-separated list of positive
// numbers, as go test -cpu takes them. Setting it again replaces the
// list.
type positiveInts []int

func (l *positiveInts) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *positiveInts) Set(s string) error {
	var list []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive number", f)
		}
		list = append(list, n)
	}
	*l = list
	return nil
}
