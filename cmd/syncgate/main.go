// Command syncgate runs the gateway (the default) and its tools: `syncgate conformance`
// serves the protocol suites' reference configuration.
package main

import (
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
		err = fmt.Errorf("usage: syncgate conformance")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncgate:", err)
		os.Exit(1)
	}
}
