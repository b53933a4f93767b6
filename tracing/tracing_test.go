package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/otlptest"
	"github.com/syncgate/syncgate/tracing"
)

// env is a lookup over a fixed environment.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Tracing is off unless the standard environment asks for it; a setting that would
// silently export nothing is an error, not "off".
func TestFromEnvIsOffUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      []string
		on       bool
		endpoint string
		err      string
	}{
		{name: "nothing set", on: false},
		{name: "exporter otlp, default endpoint", env: []string{"OTEL_TRACES_EXPORTER", "otlp"}, on: true, endpoint: "http://localhost:4318/v1/traces"},
		{name: "base endpoint alone", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}, on: true, endpoint: "http://collector:4318/v1/traces"},
		{name: "traces endpoint as is", env: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://c.example/otlp/traces", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"}, on: true, endpoint: "https://c.example/otlp/traces"},
		{name: "exporter none wins over an endpoint", env: []string{"OTEL_TRACES_EXPORTER", "none", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}, on: false},
		{name: "SDK disabled", env: []string{"OTEL_SDK_DISABLED", "true", "OTEL_TRACES_EXPORTER", "otlp"}, on: false},
		{name: "http/protobuf named", env: []string{"OTEL_TRACES_EXPORTER", "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}, on: true, endpoint: "http://localhost:4318/v1/traces"},
		{name: "other exporter", env: []string{"OTEL_TRACES_EXPORTER", "zipkin"}, err: `OTEL_TRACES_EXPORTER="zipkin": only otlp`},
		{name: "grpc", env: []string{"OTEL_TRACES_EXPORTER", "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"}, err: `protocol "grpc": only http/protobuf`},
		{name: "bad endpoint", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}, err: "want an http:// or https:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tracing.FromEnv(context.Background(), env(tc.env...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
			if (p != nil) != tc.on || p.Endpoint() != tc.endpoint {
				t.Fatalf("on=%v endpoint %q, want on=%v %q", p != nil, p.Endpoint(), tc.on, tc.endpoint)
			}
		})
	}
}

// With tracing off every method is a no-op: the handler is not wrapped, nothing is
// injected, a span started is not recording and does not end the caller's.
func TestNilProviderDoesNothing(t *testing.T) {
	var p *tracing.Provider
	h := http.NotFoundHandler()
	if got := p.Handler(h); got == nil {
		t.Fatal("nil handler")
	}
	hdr := http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	p.Inject(context.Background(), hdr)
	if hdr.Get("Traceparent") != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
		t.Fatalf("header changed: %v", hdr)
	}
	ctx, span := p.Start(context.Background(), "x")
	span.End()
	if span.IsRecording() || tracing.TraceID(ctx) != "" {
		t.Fatal("a span of tracing off records")
	}
	if err := p.ForceFlush(context.Background()); err != nil || p.Shutdown(context.Background()) != nil {
		t.Fatal(err)
	}
}

// Spans reach a real OTLP/HTTP receiver on loopback: the server span continues the
// caller's traceparent, the child span is its child, and the upstream gets a traceparent
// of the same trace whose parent is the server span.
func TestSpansReachTheCollectorAndTheUpstream(t *testing.T) {
	col := otlptest.Start(t)
	p, err := tracing.FromEnv(context.Background(), env("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint()))
	if err != nil || p == nil {
		t.Fatalf("FromEnv: %v %v", p, err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })

	upstreamSaw := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamSaw <- r.Header.Get("Traceparent")
	}))
	t.Cleanup(upstream.Close)

	traceIDs := make(chan string, 1)
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, _ := http.NewRequestWithContext(r.Context(), "GET", upstream.URL, nil)
		out.Header.Set("Traceparent", "00-11111111111111111111111111111111-2222222222222222-01") // the caller's, replaced
		p.Inject(r.Context(), out.Header)
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		ctx, span := p.Start(r.Context(), tracing.SpanMatch)
		traceIDs <- tracing.TraceID(ctx)
		span.End()
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("PUT", srv.URL+"/x", nil)
	req.Header.Set("Traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := col.Wait(10*time.Second, "received the server and match spans", func(s []otlptest.Span) bool {
		return len(otlptest.Named(s, "proxy PUT")) == 1 && len(otlptest.Named(s, tracing.SpanMatch)) == 1
	})
	server, match := otlptest.Named(spans, "proxy PUT")[0], otlptest.Named(spans, tracing.SpanMatch)[0]
	if server.TraceID != callerTrace || server.ParentID != callerSpan || server.Kind != "SPAN_KIND_SERVER" || server.Service != "syncgate" {
		t.Fatalf("server span %+v: want trace %s, parent %s (the caller's), kind server, service syncgate", server, callerTrace, callerSpan)
	}
	if match.TraceID != callerTrace || match.ParentID != server.SpanID {
		t.Fatalf("match span %+v is not the server span's child (%s)", match, server.SpanID)
	}
	if got := <-traceIDs; got != callerTrace {
		t.Fatalf("TraceID = %q, want %s", got, callerTrace)
	}
	if tp := <-upstreamSaw; tp != "00-"+callerTrace+"-"+server.SpanID+"-01" {
		t.Fatalf("upstream saw traceparent %q, want the server span %s of trace %s", tp, server.SpanID, callerTrace)
	}
}
