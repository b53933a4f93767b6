// Package systems builds and starts the servers syncbench compares, each as its own process on
// a loopback port: syncgate (the cmd/syncgate binary), the reference Node server, the bare Go
// broadcast limit, and syncgate in-process with profiling endpoints (syncbench gateway-inproc).
package systems
