// Package testenv starts the real parts that syncgate's tests run against: a
// redis-server, a fake platform API over HTTP, and the official Node
// socket.io-client v4 driven over JSON lines (test/node/driver.js).
//
// It is imported only from tests. Every helper binds to 127.0.0.1 on a free
// port and is stopped by t.Cleanup. Missing tools (redis-server, node, the
// npm packages of test/node) fail the test with a message telling to run
// ./scripts/test.sh, which installs them: CI must never skip silently.
//
// The parts:
//   - StartRedis: a redis-server with no persistence; Stop, Kill, Start again on the same port.
//   - StartRedisCluster: N masters (+ replicas) made into a Redis Cluster by
//     redis-cli --cluster create; Kill a node, WaitFailover, Reshard, MasterOf a key.
//   - StartRedisSentinel: a Sentinel (redis-server --sentinel) naming a StartRedis primary.
//   - NewFakeAPI: the platform API under /v1; memberships per credential (the
//     bearer token, else the "zsid" cookie), canned answers, outages, delays,
//     and a log of what reached it.
//   - StartNode: the official socket.io-client; sockets named by the test,
//     notifications queued per socket.
//   - Listen, FreePort, RepoRoot.
//
// # Waiting without sleeping
//
// Every wait (Node.WaitEvent, Node.NextEvent, Node.WaitDisconnect,
// Node.WaitNotice) has a timeout (DefaultTimeout when zero) and on failure
// says what was awaited and what arrived instead.
//
// To show that something did NOT happen, never sleep and look. Use ordering:
// the events one Node process receives on one socket arrive in the order the
// server sent them. So, to show that socket B got no event of org 1: fire an
// org-1 event, then fire an event B *should* get; wait for the latter with
// WaitEvent and assert that its Skipped list is empty, i.e. nothing else
// arrived before it:
//
//	ev, err := node.WaitEvent("b", "org2.ping", 0)
//	if err != nil { t.Fatal(err) }
//	if len(ev.Skipped) != 0 { t.Fatalf("socket b got %v", ev.Skipped) }
//
// Redis readiness (StartRedis polls PING) is readiness, not synchronization.
package testenv
