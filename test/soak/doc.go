// Package soak is the churn soak test of issue 20: real redis-server, several real syncgate
// processes, the official socket.io-client with connection state recovery, churn, mutations
// and faults (a Redis kill -9, a node SIGTERM, a node kill -9), judged by a per-socket ledger
// that classifies every expected event as delivered, covered by a resync, or lost.
//
// TestSoakShort runs a 2–3 minute version under go test; `go run ./cmd/syncbench soak` runs
// the 25-minute one (see the README, "Soak test").
package soak
