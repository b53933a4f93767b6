package main

import (
	"strings"
	"testing"
)

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
	need := o.scen.need("storm", []string{"syncgate", "node", "bare", "centrifugo"})
	if len(need) != 2 || need[0] != "node" || need[1] != "syncgate" {
		t.Errorf("need = %v, want [node syncgate] (bare has no admission and no Redis)", need)
	}
	need = o.scen.need("proxy", []string{"node"})
	if strings.Join(need, ",") != "goproxy,nginx,syncgate" {
		t.Errorf("proxy needs %v, want the Go proxy, nginx and syncgate", need)
	}
}

func TestRatesAndCPUListsParse(t *testing.T) {
	got, err := parseRates("5000, 20k,1.5k")
	if err != nil || len(got) != 3 || got[0] != 5000 || got[1] != 20000 || got[2] != 1500 {
		t.Fatalf("parseRates = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-5", "fast", "5kk"} {
		if _, err := parseRates(bad); err == nil {
			t.Errorf("parseRates(%q) accepted", bad)
		}
	}
	cpus, err := parseCPUList("0,2-4")
	if err != nil || len(cpus) != 4 || cpus[0] != 0 || cpus[3] != 4 {
		t.Fatalf("parseCPUList = %v, %v", cpus, err)
	}
	if _, err := parseCPUList("3-1"); err == nil {
		t.Error("3-1 accepted")
	}
	gen, err := generatorCPUs("0", "")
	if err != nil || len(gen) == 0 || gen[0] == 0 {
		t.Fatalf("generator CPUs = %v, %v; want every CPU but 0", gen, err)
	}
}

func TestEachScenarioRunsTheSystemsItAppliesTo(t *testing.T) {
	o, err := parseOptions("all", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(only(o.systems, maxrateSystems), ","); got != "syncgate,node,centrifugo,bare" {
		t.Errorf("maxrate systems = %s (node-cluster needs more than the one core)", got)
	}
	if got := strings.Join(only(o.systems, rateSystems), ","); got != "syncgate,node,node-cluster,centrifugo,bare" {
		t.Errorf("rates systems = %s", got)
	}
	if len(o.rate.rateList) != 4 || o.rate.rateList[3] != 100000 || o.reps != 3 {
		t.Errorf("defaults: rates %v, reps %d", o.rate.rateList, o.reps)
	}
	if _, err := parseOptions("rates", []string{"--rates", "x"}); err == nil {
		t.Error("--rates x accepted")
	}
	cmds := reproCommands(o)
	if !strings.HasPrefix(cmds["rates"], "go run ./cmd/syncbench rates --systems syncgate,node,node-cluster,centrifugo,bare --rates 5000,20000,50000,100000") {
		t.Errorf("rates command = %s", cmds["rates"])
	}
}

func TestClusterOptions(t *testing.T) {
	o, err := parseClusterOptions([]string{"--nodes", "1, 4", "--engines", "cluster", "--cluster-orgs", "10", "--cluster-sockets", "20"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.nodes) != 2 || o.nodes[1] != 4 || len(o.engines) != 1 || o.masters != 3 {
		t.Errorf("parsed %+v", o)
	}
	for _, bad := range [][]string{{"--nodes", "0"}, {"--engines", "memory"}, {"--cluster-masters", "2"},
		{"--cluster-orgs", "10", "--cluster-sockets", "5"}} {
		if _, err := parseClusterOptions(bad); err == nil {
			t.Errorf("parseClusterOptions(%q) accepted", bad)
		}
	}
}
