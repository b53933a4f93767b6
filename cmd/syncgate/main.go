// Command syncgate runs the gateway (the default) and its tools: `syncgate doctor` checks the
// memberships endpoint with a user's credentials; `check`, `match` and `suggest` help with
// trigger files; `triggers from-openapi`, `coverage` and `replay` take them to a whole API
// (an OpenAPI document, a CI gate, an access log); `conformance` and `demo-api` serve tests
// and demos. `syncgate help` lists every command, `syncgate help flags` every gateway flag
// (each has a SYNCGATE_* environment twin), `syncgate --version` the build.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand of syncgate.
type command struct {
	name    string
	args    string // what follows the name, for usage lines
	summary string // one line for `syncgate help`
	group   string // heading it is listed under
	// selfHelp: run prints the command's own usage on -h (to its stderr writer, or for the
	// commands that take no writers, to the process's stderr) and returns flag.ErrHelp.
	selfHelp bool
	run      func(args []string, stdout, stderr io.Writer) error
}

// Groups of `syncgate help`, in the order they are listed.
const (
	groupGateway  = "The gateway"
	groupTriggers = "Trigger files"
	groupTests    = "Tests and demos (not for production)"
	groupHelp     = "About syncgate"
)

// commands lists every subcommand. It is a function, not a variable, because help's run
// refers back to it (a package variable would be an initialization cycle).
func commands() []command {
	return []command{
		{name: "run", args: "[FLAGS]", group: groupGateway, selfHelp: true,
			summary: "the gateway; the default command (`syncgate --upstream URL` = `syncgate run --upstream URL`)",
			run:     func(args []string, _, _ io.Writer) error { return run(args) }},
		{name: "doctor", args: "--upstream URL (--token T | --cookie C | --authorization V) [--org X] [FLAGS]", group: groupGateway, selfHelp: true,
			summary: "call the memberships endpoint with a user's credentials as the gateway would: which orgs admit a socket",
			run:     runDoctor},
		{name: "check", args: "[--org-id-format F] (FILE | --triggers FILE)", group: groupTriggers, selfHelp: true,
			summary: "validate a trigger file: every problem as FILE:LINE (exit 1), warnings allowed (exit 0), usage or file errors exit 2",
			run:     runCheck},
		{name: "match", args: "--triggers FILE [--status N] [--body JSON] [--header K:V]... [--org-id-format F] [--namespace-prefix P] METHOD PATH", group: groupTriggers, selfHelp: true,
			summary: "print exactly which events a call would fire (exit 0), or the nearest trigger and what differs (exit 1)",
			run:     runMatch},
		{name: "suggest", args: "[--admin URL] [--triggers FILE]", group: groupTriggers, selfHelp: true,
			summary: "draft triggers for the mutations a running gateway saw fire nothing",
			run:     runSuggest},
		{name: "triggers", args: "from-openapi SPEC [--org-param NAME] [--out FILE] [--merge FILE]", group: groupTriggers, selfHelp: true,
			summary: "write a trigger file for an OpenAPI document's mutating operations; --merge adds only what a file lacks",
			run:     runTriggers},
		{name: "coverage", args: "--openapi SPEC --triggers FILE [--format text|github]", group: groupTriggers, selfHelp: true,
			summary: "CI gate: every mutating operation has a trigger and every trigger an operation (exit 0), or what is missing (exit 1)",
			run:     runCoverage},
		{name: "replay", args: "--triggers FILE [--api-prefix P] ACCESS_LOG", group: groupTriggers, selfHelp: true,
			summary: "shadow run over an access log: events and orgs per trigger, and the 2xx mutations no trigger matched",
			run:     runReplay},
		{name: "conformance", args: "[--listen ADDR]", group: groupTests, selfHelp: true,
			summary: "test tool: serve the official Engine.IO/Socket.IO test suites' reference configuration",
			run:     func(args []string, _, _ io.Writer) error { return runConformance(args) }},
		{name: "demo-api", args: "[--listen ADDR] [--log-format F] [--log-level L]", group: groupTests, selfHelp: true,
			summary: "demo and test tool: serve only the built-in example API, for gateways started with --demo --upstream",
			run:     func(args []string, _, _ io.Writer) error { return runDemoAPI(args) }},
		{name: "help", args: "[COMMAND | flags]", group: groupHelp,
			summary: "list the commands; a command's usage; `help flags`: every gateway flag as a Markdown table",
			run:     runHelp},
		{name: "version", args: "", group: groupHelp,
			summary: "print the version, the source revision and the Go version (also: --version)",
			run:     runVersion},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// realMain is main without the process: it runs the command args name and returns the exit
// code. A first argument that is a flag (or none) runs the gateway, as always.
func realMain(args []string, stdout, stderr io.Writer) int {
	name, rest := "run", args
	switch {
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-version"):
		name, rest = "version", args[1:]
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		name, rest = args[0], args[1:]
	case wantsHelp(args):
		// `syncgate --help` prints the gateway's flags (below, from the flag package);
		// point to the other commands first.
		fmt.Fprint(stderr, gatewayHelpIntro)
	}
	cmd, ok := findCommand(name)
	if !ok {
		return mainExitCode(unknownCommand(name, stderr), stderr)
	}
	return mainExitCode(cmd.run(rest, stdout, stderr), stderr)
}

// wantsHelp: the flag package would stop at -h/-help in args and print the usage.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--h", "-help", "--help":
			return true
		}
	}
	return false
}

const gatewayHelpIntro = "syncgate runs the gateway with these flags (each has a SYNCGATE_* environment twin).\n" +
	"`syncgate help` lists the other commands; `syncgate help flags` prints this list as a Markdown table.\n\n"

// exitError ends syncgate with its code after its message (if any) was printed.
type exitError struct {
	code int
	msg  string // "": already said
}

func (e exitError) Error() string { return e.msg }
func (e exitError) ExitCode() int { return e.code }

// mainExitCode maps what a command returned to the process's exit code, printing the error
// unless the command already said what went wrong (errFailed, or an empty message).
// flag.ErrHelp is a success: the usage was asked for. An error with an ExitCode() method
// (the tools: 1 failed, 2 misuse) sets the code; any other error is 1.
func mainExitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	code := 1
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) && coded.ExitCode() > 0 {
		code = coded.ExitCode()
	}
	if !errors.Is(err, errFailed) && err.Error() != "" {
		fmt.Fprintln(stderr, "syncgate:", err)
	}
	return code
}
