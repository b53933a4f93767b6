package loadgen

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestEveryOrgHasSocketsOnEveryNode(t *testing.T) {
	cfg := Config{Addrs: []string{"a", "b"}, Sockets: 800, Orgs: 200}
	cfg.setDefaults()
	seen := map[[2]string]bool{}
	for i := range cfg.Sockets {
		seen[[2]string{fmt.Sprint(cfg.OrgOf(i)), cfg.AddrOf(i)}] = true
	}
	if len(seen) != 200*2 {
		t.Fatalf("%d (org, node) pairs have sockets, want 400", len(seen))
	}
	if (Config{Addr: "x"}).AddrOf(5) != "x" {
		t.Fatal("a single-node fleet does not use Addr")
	}
}

func TestSenderSpreadsEventsOverOrgsAndNodes(t *testing.T) {
	s := &Sender{BaseURLs: []string{"n0", "n1"}, Orgs: 200}
	perNode := map[string]int{}
	pairs := map[string]bool{}
	for seq := 1; seq <= 800; seq++ {
		base, org := s.Route(seq)
		if org < 1 || org > 200 {
			t.Fatalf("event %d routed to org %d", seq, org)
		}
		perNode[base]++
		pairs[fmt.Sprint(base, org)] = true
	}
	if perNode["n0"] != 400 || perNode["n1"] != 400 {
		t.Errorf("events per node = %v, want 400 each", perNode)
	}
	if len(pairs) != 400 {
		t.Errorf("%d (node, org) pairs got events, want all 400", len(pairs))
	}
	one := &Sender{BaseURL: "b", Org: 7}
	if base, org := one.Route(99); base != "b" || org != 7 {
		t.Errorf("single-target sender routed to %s org %d", base, org)
	}
}

func TestStormOutcomesAreClassified(t *testing.T) {
	var r StormReport
	r.classify(nil, true)
	r.classify(fmt.Errorf("x: %w", ErrRefused), true)
	r.classify(fmt.Errorf("%w: %w", errAwaitingAck, errors.New("i/o timeout")), false)
	r.classify(errors.New("dial refused"), false)
	if r.Admitted != 1 || r.Refused != 1 || r.Hanging != 1 || r.Failed != 1 {
		t.Fatalf("report = %+v, want one of each", r)
	}
	if !errors.Is(r.FirstErr, ErrRefused) {
		t.Errorf("first error = %v, want the refusal", r.FirstErr)
	}
	r.Admit = []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if r.AdmitPercentile(.5) != 5 || r.AdmitPercentile(.99) != 10 || r.AdmitPercentile(0) != 1 {
		t.Errorf("percentiles %v %v %v", r.AdmitPercentile(.5), r.AdmitPercentile(.99), r.AdmitPercentile(0))
	}
}
