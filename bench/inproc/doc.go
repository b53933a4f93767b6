// Package inproc runs syncgate in the benchmark's own process, exactly as cmd/syncgate wires it
// (gateway.New, then Handler on a listener), plus /bench/ endpoints that start and stop a CPU
// profile, write a heap profile and report Go memory statistics.
package inproc
