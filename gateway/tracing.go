package gateway

import (
	"context"
	"net/http/httputil"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/syncgate/syncgate/tracing"
	"github.com/syncgate/syncgate/triggers"
)

// Tracing (OpenTelemetry, package tracing; on when the OTEL_* environment asks for it):
// each proxied call is a server span "proxy METHOD" (Options.Tracing.Handler, around the
// proxy), the upstream call carries its traceparent (tracedRewrite), the proxy adds a
// child span "triggers.match", and each fired event a child span "publish" whose trace ID
// travels on the broadcast (through Redis too) to the "broadcast delivered" log line of
// every node that delivers it.

// tracedRewrite adds the trace context of the call to the upstream request, after next
// (the session mode's rewrite, or nil).
func (g *Gateway) tracedRewrite(next func(*httputil.ProxyRequest)) func(*httputil.ProxyRequest) {
	if g.tracing == nil {
		return next
	}
	return func(pr *httputil.ProxyRequest) {
		if next != nil {
			next(pr)
		}
		g.tracing.Inject(pr.In.Context(), pr.Out.Header)
	}
}

// startPublish starts the "publish" span of ev, the child of the call's span in ctx (it
// may start after the call answered: the publish queue keeps the call's context).
func (g *Gateway) startPublish(ctx context.Context, ev triggers.Event) (context.Context, trace.Span) {
	return g.tracing.Start(ctx, tracing.SpanPublish,
		attribute.String("syncgate.event", ev.Name), attribute.String("syncgate.org", ev.Org))
}
