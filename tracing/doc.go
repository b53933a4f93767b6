// Package tracing is syncgate's OpenTelemetry setup: off unless the standard OTEL_*
// environment asks for traces, then OTLP over HTTP (protobuf) to a collector.
//
// FromEnv decides and builds a *Provider (nil: tracing off; every method of a nil Provider
// is a cheap no-op). The gateway uses it for a server span per proxied call (Handler), the
// W3C traceparent sent upstream (Inject), child spans for trigger matching and publishing
// (Start), and the trace ID carried on a broadcast (TraceID). Safe for concurrent use.
package tracing
