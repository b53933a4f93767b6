package main

import "testing"

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1000x1000@500, 10000x10@0,5x6")
	if err != nil {
		t.Fatal(err)
	}
	want := []fanoutSize{{1000, 1000, 500}, {10000, 10, 0}, {5, 6, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("size %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"1000", "x10@5", "10x10@-1", "0x10", "10x10@fast"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}

func TestSingleScenarioResultsDoNotReplaceTheFullRun(t *testing.T) {
	if got := resultsName("all", "2026-11-23"); got != "2026-11-23.md" {
		t.Errorf("all writes %s", got)
	}
	if got := resultsName("storm", "2026-11-23"); got != "2026-11-23-storm.md" {
		t.Errorf("storm writes %s, want 2026-11-23-storm.md", got)
	}
}

func TestScenarioFlagsAreValidated(t *testing.T) {
	if _, err := parseOptions("proxy", []string{"--proxy-concurrency", "1,x"}); err == nil {
		t.Error("--proxy-concurrency 1,x accepted")
	}
	if _, err := parseOptions("twonode", []string{"--twonode-sockets", "100", "--twonode-orgs", "200"}); err == nil {
		t.Error("fewer sockets than two per org accepted")
	}
	o, err := parseOptions("proxy", []string{"--proxy-concurrency", "2,8"})
	if err != nil || len(o.scen.proxyConcs) != 2 || o.scen.proxyConcs[1] != 8 {
		t.Fatalf("proxy concurrency = %v, %v", o.scen.proxyConcs, err)
	}
	need := o.scen.need("all", []string{"syncgate", "node", "bare"})
	if len(need) != 2 || need[0] != "node" || need[1] != "syncgate" {
		t.Errorf("need = %v, want [node syncgate] (bare has no admission and no Redis)", need)
	}
}
