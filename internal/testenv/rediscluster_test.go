package testenv_test

import (
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// A 3-master cluster with one replica each comes up whole: every slot served, three
// masters, every replica in sync, and a key's owner found; killing a master hands its slots
// to its replica.
func TestRedisClusterStartsWholeAndFailsOver(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 1)
	if got := len(c.Masters()); got != 3 {
		t.Fatalf("%d masters, want 3", got)
	}
	m := c.MasterOf("syncgate:{sg0}:x")
	out, err := c.CLI(m, "set", "syncgate:{sg0}:x", "1")
	if err != nil || out != "OK" {
		t.Fatalf("SET on the key's master: %v %q", err, out)
	}
	m.Kill()
	c.WaitFailover(m)
	if n := c.MasterOf("syncgate:{sg0}:x"); n == m {
		t.Fatal("the killed master still owns the key")
	} else if v, err := c.CLI(n, "get", "syncgate:{sg0}:x"); err != nil || !strings.Contains(v, "1") {
		t.Fatalf("the promoted replica lacks the key: %v %q", err, v)
	}
}
