package testenv

import (
	"net"
	"testing"
)

// Listen opens a TCP listener on a free port of 127.0.0.1, closed on cleanup.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: listen on 127.0.0.1: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago. Prefer
// Listen where the code under test accepts a listener: another process may
// take a free port before it is used.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
