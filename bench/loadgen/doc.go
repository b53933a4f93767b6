// Package loadgen is the benchmark's Socket.IO load generator: it holds thousands of sockets
// open over a hand-rolled websocket (or long-polling) client, answers pings, and records, for
// every delivered event, its latency from the send of the request that triggered it.
//
// It is written to cost little per delivery (no per-frame allocation, one goroutine per
// socket, counters per socket), so that the server under test, not the generator, is the
// bottleneck; the caller measures the generator's own CPU share to show it.
package loadgen
