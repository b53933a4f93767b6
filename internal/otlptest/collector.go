package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, its IDs in hex as W3C traceparent spells them.
type Span struct {
	Name     string
	TraceID  string // 32 hex digits
	SpanID   string // 16 hex digits
	ParentID string // "" for a root span
	Kind     string // SPAN_KIND_SERVER, SPAN_KIND_INTERNAL, ...
	Service  string // the resource's service.name
	Attrs    map[string]string
}

// Collector is an OTLP/HTTP receiver: POST /v1/traces with a protobuf
// ExportTraceServiceRequest (gzip or not).
type Collector struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	spans   []Span
	changed chan struct{} // closed and replaced when spans arrive
	bad     []string      // requests it could not decode
}

// Start starts a collector; it stops on t.Cleanup.
func Start(t testing.TB) *Collector {
	c := &Collector{t: t, changed: make(chan struct{})}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

// Endpoint is the base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT.
func (c *Collector) Endpoint() string { return c.srv.URL }

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		c.fail(fmt.Sprintf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.fail("gzip: " + err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(io.LimitReader(body, 16<<20))
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &req)
	}
	if err != nil {
		c.fail("decode: " + err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range req.GetResourceSpans() {
		service := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				got = append(got, Span{
					Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Kind: s.GetKind().String(), Service: service,
					Attrs: attrs(s.GetAttributes()),
				})
			}
		}
	}
	c.mu.Lock()
	c.spans = append(c.spans, got...)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func (c *Collector) fail(what string) {
	c.mu.Lock()
	c.bad = append(c.bad, what)
	c.mu.Unlock()
}

// attrs flattens OTLP attributes to strings (ints and bools in their usual spelling).
func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetBoolValue())
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetDoubleValue())
		default:
			out[kv.GetKey()] = v.GetStringValue()
		}
	}
	return out
}

// Spans returns the spans received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Span(nil), c.spans...)
}

// Wait waits until ok holds for the spans received (bounded by timeout), and fails the
// test otherwise, or when a request could not be decoded.
func (c *Collector) Wait(timeout time.Duration, what string, ok func([]Span) bool) []Span {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		spans, changed, bad := append([]Span(nil), c.spans...), c.changed, append([]string(nil), c.bad...)
		c.mu.Unlock()
		if len(bad) > 0 {
			c.t.Fatalf("otlptest: requests not understood: %s", strings.Join(bad, "; "))
		}
		if ok(spans) {
			return spans
		}
		select {
		case <-changed:
		case <-deadline.C:
			c.t.Fatalf("otlptest: never %s within %v; received %d spans: %v", what, timeout, len(spans), spans)
		}
	}
}

// Named returns the spans called name.
func Named(spans []Span, name string) []Span {
	var out []Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}
