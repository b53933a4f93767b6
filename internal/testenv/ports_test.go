package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func itoa(i int) string { return strconv.Itoa(i) }

func TestListenIsOnLoopback(t *testing.T) {
	ln := Listen(t)
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() || addr.Port == 0 {
		t.Fatalf("listening on %v, want 127.0.0.1 and a port", addr)
	}
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	p := FreePort(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	ln.Close()
}

func TestRepoRootHoldsGoMod(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "test", "node", "driver.js")); err != nil {
		t.Fatalf("RepoRoot %s has no test/node/driver.js: %v", root, err)
	}
}
