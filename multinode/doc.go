// Package multinode tests syncgate running as several nodes that behave as one: fan-out
// through a real redis-server, no silent loss when Redis or a node fails, and connection
// state recovery across nodes. It holds tests only.
//
// Nodes are gateways (gateway.New) on real loopback listeners in this process, or the
// real syncgate binary where a node must die by SIGKILL. Clients are the official
// socket.io-client (internal/testenv); a TCP forwarder in front of a node stands for a
// load balancer that moves a client to another node. node/ holds the official
// @socket.io/redis-emitter (npm ci there before running the tests).
package multinode
