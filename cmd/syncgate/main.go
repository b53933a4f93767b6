// Command syncgate runs the gateway (the default) and its tools: `syncgate conformance`
// serves the protocol suites' reference configuration. `syncgate --help` lists the flags;
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
	default:
		err = run(args)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncgate:", err)
		os.Exit(1)
	}
}
