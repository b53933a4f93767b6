package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName names syncgate's spans' instrumentation scope.
const ScopeName = "github.com/syncgate/syncgate"

// Span names. The proxied call's server span is named "proxy " + its method.
const (
	SpanMatch   = "triggers.match" // which triggers a successful mutation fired
	SpanPublish = "publish"        // one fired event handed to the fan-out
)

// Environment variables read by FromEnv itself; the exporter and the SDK read the other
// standard ones (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*).
const (
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvExporter       = "OTEL_TRACES_EXPORTER"
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// Provider is tracing switched on: an SDK tracer provider exporting OTLP/HTTP, and the W3C
// trace-context propagator. A nil *Provider is tracing off.
type Provider struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	target string // where spans go, for the start-up log
}

// FromEnv reads the standard OpenTelemetry environment through lookup (os.LookupEnv in the
// binary) and returns a Provider, or nil when tracing is off. Tracing is on when
// OTEL_TRACES_EXPORTER=otlp, or when it is unset and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT is set; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
// keeps it off. Any other exporter, or a protocol other than http/protobuf, is an error:
// a setting that would silently export nothing.
func FromEnv(ctx context.Context, lookup func(string) (string, bool)) (*Provider, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get(EnvSDKDisabled), "true") {
		return nil, nil
	}
	endpoint := get(EnvTracesEndpoint)
	switch exp := strings.ToLower(get(EnvExporter)); exp {
	case "none":
		return nil, nil
	case "":
		if endpoint == "" && get(EnvEndpoint) == "" {
			return nil, nil // off by default
		}
	case "otlp":
	default:
		return nil, fmt.Errorf("tracing: %s=%q: only otlp (or none) is supported", EnvExporter, exp)
	}
	proto := get(EnvTracesProtocol)
	if proto == "" {
		proto = get(EnvProtocol)
	}
	if proto != "" && proto != "http/protobuf" {
		return nil, fmt.Errorf("tracing: OTLP protocol %q: only http/protobuf is supported", proto)
	}
	if endpoint == "" { // the base endpoint gets the signal's path, as the specification says
		base := get(EnvEndpoint)
		if base == "" {
			base = "http://localhost:4318"
		}
		endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: OTLP endpoint %q: want an http:// or https:// URL", endpoint)
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("syncgate")), // OTEL_SERVICE_NAME overrides it
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{
		tp:     tp,
		tracer: tp.Tracer(ScopeName),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		target: endpoint,
	}, nil
}

// Endpoint is where spans are exported ("" when off).
func (p *Provider) Endpoint() string {
	if p == nil {
		return ""
	}
	return p.target
}

// ForceFlush exports the spans that ended so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.ForceFlush(ctx)
}

// Shutdown exports what is left and stops the exporter; call it once, at exit.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Handler wraps h (the proxy) so each request gets a server span named "proxy METHOD",
// the child of the caller's traceparent when it sends one.
func (p *Provider) Handler(h http.Handler) http.Handler {
	if p == nil {
		return h
	}
	return otelhttp.NewHandler(h, "proxy",
		otelhttp.WithTracerProvider(p.tp),
		otelhttp.WithPropagators(p.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // metrics are /metrics' (Prometheus)
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "proxy " + r.Method }))
}

// Inject writes ctx's trace context (traceparent, tracestate, baggage) into h, replacing
// what the caller sent: the upstream's span becomes a child of the proxy's.
func (p *Provider) Inject(ctx context.Context, h http.Header) {
	if p == nil {
		return
	}
	p.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// Start starts a span named name, the child of ctx's span. With tracing off it returns ctx
// and a span that records nothing (and never ends ctx's own).
func (p *Provider) Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if p == nil {
		return ctx, noop.Span{}
	}
	return p.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// TraceID is the trace ID (32 hex digits) of ctx's span when it is sampled, else "": the
// ID a delivery log line carries to tie it to the request that caused it.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}
