package proxy

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/syncgate/syncgate/tracing"
	"github.com/syncgate/syncgate/triggers"
)

// mutating lists the methods whose success can fire triggers.
var mutating = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// modifyResponse arranges for the triggers of a successful mutation to fire
// once its response body has been passed on. The response is not changed.
func (h *handler) modifyResponse(resp *http.Response) error {
	c, _ := resp.Request.Context().Value(callKey{}).(*call)
	if c == nil || !mutating[strings.ToUpper(c.method)] || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil
	}
	set := h.cfg.Triggers()
	f := &firing{
		h:        h,
		call:     c,
		set:      set,
		ctx:      context.WithoutCancel(resp.Request.Context()),
		needBody: set.NeedsBody(c.method, c.rel),
		encoding: resp.Header.Get("Content-Encoding"),
		header:   resp.Header, // for triggers with meta: [etag]; not changed once passed on
	}
	resp.Body = newTeeBody(resp.Body, f, resp.ContentLength, h.cfg.MaxMatchBody)
	return nil
}

// firing is the pending trigger evaluation of one successful mutation.
type firing struct {
	h        *handler
	call     *call
	set      *triggers.Set
	ctx      context.Context // not canceled with the client's request
	needBody bool
	encoding string      // the response's Content-Encoding
	header   http.Header // the response's headers
}

// finish runs when the proxy closes the upstream body. complete says the body
// was read to its end; captured holds it unless it was not needed or too big.
func (f *firing) finish(complete, tooBig bool, captured []byte) {
	c, log := f.call, f.h.log
	var body []byte
	if f.needBody {
		switch {
		case !complete:
			log.Warn("response body incomplete; from_response triggers skipped", "method", c.method, "path", c.rel)
		case tooBig:
			log.Warn("response body larger than MaxMatchBody; from_response triggers skipped",
				"method", c.method, "path", c.rel, "limit", f.h.cfg.MaxMatchBody)
		default:
			var err error
			if body, err = decodeBody(captured, f.encoding, f.h.cfg.MaxMatchBody); err != nil {
				log.Warn("response body not decodable; from_response triggers skipped",
					"method", c.method, "path", c.rel, "err", err)
			}
		}
	} else if !complete {
		log.Debug("response body incomplete; firing anyway, the upstream call succeeded", "method", c.method, "path", c.rel)
	}
	_, span := f.h.cfg.Tracing.Start(f.ctx, tracing.SpanMatch)
	events := f.set.MatchResponse(c.method, c.rel, c.header, f.header, body)
	span.SetAttributes(attribute.Int("syncgate.events", len(events)))
	span.End()
	if len(events) == 0 {
		if f.h.cfg.OnUnmatched != nil && (!f.needBody || body != nil) {
			f.h.cfg.OnUnmatched(c.method, c.rel)
		}
		return
	}
	ctx, cancel := context.WithTimeout(f.ctx, f.h.cfg.PublishTimeout)
	defer cancel()
	for _, ev := range events {
		if err := f.h.cfg.Publisher.Publish(ctx, ev); err != nil {
			log.Error("publish event", "event", ev.Name, "org", ev.Org, "err", err)
		}
	}
}
