package main

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/syncgate/syncgate/bench/systems"
)

// runNotes describe how the run's systems are set up, for the results file.
func runNotes(o options) []string {
	return []string{
		"Each run starts fresh server processes; the fake upstream API is a separate `syncbench upstream` process (its CPU is reported apart).",
		"syncgate: the cmd/syncgate binary, `--membership-ttl 5m`, one trigger (personview.addrow on the row PUT).",
		"node: bench/peers/node/server.js, socket.io " + "4.8 in one process: per-org namespaces, a membership middleware calling the fake upstream per socket, the PUT forwarded upstream then emitted to the org.",
		"node-cluster: the same server.js with WORKERS=2 (one worker per core, node:cluster sharing the port, @socket.io/cluster-adapter relaying broadcasts between workers through the primary). Equal-rate sweep only, not pinned: its CPU is the sum over primary and workers.",
		"centrifugo: Centrifugo " + systems.CentrifugoVersion + " (built with `go install github.com/centrifugal/centrifugo/v6@" + systems.CentrifugoVersion + "`), memory engine, namespace `org` (channel `org:N` per org), connect proxy to a relay (bench/peers/centrifugo) that checks the membership with the upstream using the token in the connect data and subscribes the connection server-side; the relay forwards the PUT upstream and, on 2xx, publishes through Centrifugo's HTTP API before answering. Its CPU is relay + Centrifugo. Clients speak Centrifugo's JSON protocol over websocket (same generator).",
		"bare: bench/peers/bare (gorilla/websocket, one shared frame per event, a writer per connection writing its queue with one writev, no write deadline, no proxy, no upstream, no admission): the limit.",
		"Latency: from the send of the triggering PUT to the event's arrival (the generator's schedule lag is reported apart). Kept up: ≥ 95% of the offered deliveries (every send, failed ones included) arrived within " + o.rate.drain.String() + " of the last send, and p99 ≤ 100 ms.",
		"Tools: " + toolVersions() + ".",
		fmt.Sprintf("Medians are taken over one repetition set of this run (same machine, same build, nothing mixed in from other runs): %d repetition(s) of each scenario (--reps), %d ramp(s) per system for max rate (--maxrate-reps); every repetition is listed.", o.reps, o.rate.maxrateReps),
	}
}

// reproCommands are the commands that reproduce each scenario of the run on its own.
func reproCommands(o options) map[string]string {
	sys := strings.Join(o.systems, ",")
	r := o.rate
	return map[string]string{
		"rates": fmt.Sprintf("go run ./cmd/syncbench rates --systems %s --rates %s --rates-sockets %d --rates-duration %s --reps %d --write",
			strings.Join(only(o.systems, rateSystems), ","), r.rates, r.sockets, r.duration, o.reps),
		"maxrate": fmt.Sprintf("go run ./cmd/syncbench maxrate --systems %s --rates-sockets %d --maxrate-duration %s --maxrate-reps %d --write",
			strings.Join(only(o.systems, maxrateSystems), ","), r.sockets, r.rampDuration, r.maxrateReps),
		"idle": fmt.Sprintf("go run ./cmd/syncbench idle --systems %s --idle %s --idle-transports %s --reps %d --write",
			strings.Join(only(o.systems, idleSystemsAll), ","), joinInts(o.idle), strings.Join(o.transports, ","), o.reps),
		"proxy": fmt.Sprintf("go run ./cmd/syncbench proxy --proxy-requests %d --proxy-concurrency %s --reps %d --write",
			o.scen.proxyRequests, o.scen.proxyConc, o.reps),
		"fanout": fmt.Sprintf("go run ./cmd/syncbench fanout --systems %s --reps %d --write", sys, o.reps),
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// toolVersions names the nginx and taskset the run uses (when installed).
func toolVersions() string {
	var out []string
	for _, t := range []struct {
		name string
		args []string
	}{{"nginx", []string{"-v"}}, {"taskset", []string{"--version"}}} {
		b, err := exec.Command(t.name, t.args...).CombinedOutput()
		if err != nil {
			out = append(out, t.name+" not installed yet")
			continue
		}
		out = append(out, strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "nginx version: ")))
	}
	return strings.Join(out, ", ")
}
