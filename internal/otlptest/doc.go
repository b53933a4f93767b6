// Package otlptest is an OTLP/HTTP trace collector on loopback, for tests: it decodes the
// protobuf export requests an OpenTelemetry exporter sends and keeps their spans.
package otlptest
