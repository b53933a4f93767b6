// Package hostile is syncgate's hostile-input suite: the real binary, started as a process
// against a fake upstream, attacked over raw sockets, with refusals and resource bounds asserted.
//
// Every test names its attack (TestCrossOrgJoinRefused), asserts the refusal (HTTP status,
// connect_error message or close) and then that the gateway is still healthy: /healthz answers
// and a legitimate member's socket is admitted and receives an event fired by a proxied PUT.
// Memory cases sample the gateway's VmRSS from /proc/PID/status during the attack and assert a
// bound on its growth; the figures are logged (go test -v ./test/hostile/).
package hostile
