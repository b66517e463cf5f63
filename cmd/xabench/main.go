// SPDX-License-Identifier: GPL-2.0-or-later

// Command xabench runs xabench's benchmark suites, prints their results,
// compares result sets and draws charts.
//
// Usage:
//
//	xabench [command] [flags]
//
// With no arguments it runs the headline suite, as "xabench bench" does.
// "xabench help" lists the commands; "xabench help command" describes one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// A command is one subcommand of xabench. Adding a capability means adding
// one entry to commands and one function that parses its own FlagSet.
type command struct {
	name    string
	summary string
	// run parses args (everything after the command name) with its own
	// FlagSet and returns the exit status: 0, 1 for a failure, 2 for a
	// usage error.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	// flags returns the command's FlagSet writing to w, for help; nil if
	// the command has no flags.
	flags func(w io.Writer) *flag.FlagSet
}

var commands []command

func init() {
	commands = []command{
		{"bench", "run a benchmark suite, print a table and write result files (the default)", benchMain, benchFlags},
		{"compare", "compare two result sets as benchstat does; exit 1 if the hot path regressed", compareMain, compareFlags},
		{"plot", "draw SVG and PNG charts from result files", plotMain, plotFlags},
		{"repro", "reproduce a kernel page-cache bug, buggy or fixed; --list names them", reproMain, reproFlags},
		{"stress", "run every scenario's fixed variant; exit 1 on any violation", stressMain, stressFlags},
		{"help", "describe xabench or one of its commands", helpMain, nil},
	}
}

func main() {
	// The first interrupt cancels ctx: a running suite stops, keeps what
	// finished and prints it. A second one kills the program as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(runContext(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs made explicit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return benchMain(ctx, nil, stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags without a command belong to the default command.
		return benchMain(ctx, args, stdout, stderr)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "xabench: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "xabench: benchmarks of a Go model of the Linux page-cache core (rcu, xarray, folios).\n\n")
	fmt.Fprintf(w, "Usage:\n\n\txabench [command] [flags]\n\n")
	fmt.Fprintf(w, "With no command, xabench runs the headline benchmark suite (as \"xabench bench\").\n\n")
	fmt.Fprintf(w, "Commands:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nFlags may come before or after a command's arguments (\"--\" ends them). A duration or\n")
	fmt.Fprintf(w, "count that is not positive is a usage error (exit 2). A ratio or target whose 95%% interval\n")
	fmt.Fprintf(w, "reaches 1 (or the goal) reads \"not significant\". The first interrupt (Ctrl-C) stops\n")
	fmt.Fprintf(w, "bench, repro and stress, which report what finished and exit 130.\n")
	fmt.Fprintf(w, "\nRun \"xabench help <command>\" for a command's flags.\n")
}

func helpMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return 0
	case 1:
		for _, c := range commands {
			if c.name == args[0] && c.flags != nil {
				c.flags(stdout).Usage()
				return 0
			}
		}
		if args[0] == "help" {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "xabench help: unknown command %q\n\n", args[0])
	default:
		fmt.Fprintf(stderr, "xabench help: too many arguments\n\n")
	}
	usage(stderr)
	return 2
}
