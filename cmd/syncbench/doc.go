// Command syncbench benchmarks syncgate against the reference Node server (socket.io 4.8) and a
// bare Go websocket broadcast server, all started by it on this machine, with its own cheap
// Socket.IO load generator. `syncbench all` runs every scenario and writes
// bench/results/<date>.md plus PNG charts; `syncbench fanout|idle|profile` run one scenario
// and print its tables; `syncbench cluster` scales syncgate out over 1, 2 and 4 nodes on one
// Redis and on a Redis Cluster. `upstream` and `gateway-inproc` are the helper processes it starts.
package main
