package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/otlptest"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/tracing"
	"github.com/syncgate/syncgate/triggers"
)

// tracingTo returns a Provider exporting to col, built from the environment the README
// documents (an OTLP endpoint is all it takes).
func tracingTo(t *testing.T, col *otlptest.Collector) *tracing.Provider {
	t.Helper()
	p, err := tracing.FromEnv(context.Background(), func(k string) (string, bool) {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return col.Endpoint(), true
		}
		return "", false
	})
	if err != nil || p == nil {
		t.Fatalf("tracing.FromEnv: %v %v", p, err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// startTracedGateway is startGatewayLogging with tracing on.
func startTracedGateway(t *testing.T, api *testenv.FakeAPI, set *triggers.Set, log *slog.Logger, p *tracing.Provider, flags ...string) *harness {
	t.Helper()
	args := append([]string{"--upstream", api.URL()}, flags...)
	cfg, err := gateway.ParseConfig(args, noEnv)
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", args, err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: log, Tracing: p})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = g.Close()
		_ = srv.Close()
	})
	return &harness{t: t, api: api, g: g, base: "http://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// awaitLog waits (bounded) until a line containing every part is logged, and returns it.
func awaitLog(t *testing.T, logs *logRecords, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(testenv.DefaultTimeout)
	for {
		for _, l := range logs.matching(parts[0]) {
			all := true
			for _, p := range parts[1:] {
				all = all && strings.Contains(l, p)
			}
			if all {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q; lines: %q", parts, logs.matching(parts[0]))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With tracing on, a proxied mutation is one trace, exported over OTLP/HTTP to a real
// receiver on loopback: a server span "proxy PUT", its children "triggers.match" and
// "publish"; the upstream got a traceparent of that trace whose parent is the proxy's span;
// and the trace ID crossed Redis with the event, so the delivery log line of the other node
// names it too.
func TestTracingFollowsAMutationAcrossTwoNodes(t *testing.T) {
	col := otlptest.Start(t)
	api := member1(t)
	r := testenv.StartRedis(t)
	logsA, logsB := &logRecords{}, &logRecords{}
	pA, pB := tracingTo(t, col), tracingTo(t, col)
	a := startTracedGateway(t, api, clientTriggers(t), slogTo(logsA), pA, "--redis", r.URL())
	b := startTracedGateway(t, api, clientTriggers(t), slogTo(logsB), pB, "--redis", r.URL())
	waitReady(t, a)
	waitReady(t, b)
	n := testenv.StartNode(t)
	connect(t, n, "onA", a.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "onB", b.url("/org/1"), opts("websocket", cookie("bob")))

	a.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4", http.Header{"Cookie": {"zsid=alice"}}, "")
	for _, s := range []string{"onA", "onB"} {
		assertIDs(t, waitOnly(t, n, s, "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
	}

	if err := pA.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := col.Wait(testenv.DefaultTimeout, "received the call's three spans", func(s []otlptest.Span) bool {
		return len(otlptest.Named(s, "proxy PUT")) == 1 && len(otlptest.Named(s, tracing.SpanMatch)) == 1 && len(otlptest.Named(s, tracing.SpanPublish)) == 1
	})
	server := otlptest.Named(spans, "proxy PUT")[0]
	match := otlptest.Named(spans, tracing.SpanMatch)[0]
	publish := otlptest.Named(spans, tracing.SpanPublish)[0]
	trace := server.TraceID
	if server.Kind != "SPAN_KIND_SERVER" || server.ParentID != "" || server.Service != "syncgate" {
		t.Fatalf("server span %+v: want a root server span of service syncgate", server)
	}
	for _, child := range []otlptest.Span{match, publish} {
		if child.TraceID != trace || child.ParentID != server.SpanID {
			t.Fatalf("span %+v is not a child of the proxy span %s of trace %s", child, server.SpanID, trace)
		}
	}
	if match.Attrs["syncgate.events"] != "1" || publish.Attrs["syncgate.event"] != "personview.addrow" || publish.Attrs["syncgate.org"] != "1" {
		t.Fatalf("attributes: match %v, publish %v", match.Attrs, publish.Attrs)
	}

	var sent string
	for _, req := range api.Requests() {
		if req.Method == "PUT" && req.Path == "/orgs/1/people/views/2/rows/4" {
			sent = req.Header.Get("Traceparent")
		}
	}
	if want := "00-" + trace + "-" + server.SpanID + "-01"; sent != want {
		t.Fatalf("the upstream got traceparent %q, want %q (the proxy span's)", sent, want)
	}

	// Node B got the event through Redis: its delivery line names the trace.
	awaitLog(t, logsB, "broadcast delivered", "trace_id="+trace, "event=personview.addrow", "sockets=1")
	awaitLog(t, logsA, "broadcast delivered", "trace_id="+trace, "sockets=1")
}
