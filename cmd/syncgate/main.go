// Command syncgate runs the gateway (the default) and its tools: `syncgate conformance`
// serves the protocol suites' reference configuration; `syncgate check`, `match` and
// `suggest` help with trigger files. `syncgate --help` lists the flags;
// every flag has a SYNCGATE_* environment twin.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	var err error
	switch {
	case len(args) > 0 && args[0] == "conformance":
		err = runConformance(args[1:])
	case len(args) > 0 && args[0] == "demo-api":
		err = runDemoAPI(args[1:])
	case len(args) > 0 && args[0] == "check":
		err = runCheck(args[1:], os.Stdout, os.Stderr)
	case len(args) > 0 && args[0] == "match":
		err = runMatch(args[1:], os.Stdout, os.Stderr)
	case len(args) > 0 && args[0] == "suggest":
		err = runSuggest(args[1:], os.Stdout, os.Stderr)
	default:
		err = run(args)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if errors.Is(err, errFailed) {
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncgate:", err)
		os.Exit(1)
	}
}
