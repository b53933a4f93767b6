package gateway

import (
	"context"
	"errors"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/triggers"
)

// callerKey is the context key of the credentials of the API call being proxied
// (auth.Credentials: the request's Cookie/Authorization, or its session in session mode).
type callerKey struct{}

// mayFireInto decides whether an event may be sent to its org. An org read from a request
// header (org: header:NAME) is the caller's say-so: the event fires only if the caller's
// credentials are a member of that org, by the same rules and cache as socket admission.
// An org from the call's path is what the upstream authorised the call for, and a fixed
// org is the operator's choice: both fire unchecked. The API call itself is never
// affected; this only decides who hears about it.
func (g *Gateway) mayFireInto(ctx context.Context, ev triggers.Event) fireVerdict {
	if !ev.FromHeader() {
		return fireAllowed
	}
	cred, _ := ctx.Value(callerKey{}).(auth.Credentials) // none: Check answers unauthorized
	err := g.members.Check(ctx, cred, ev.Org)
	if err == nil {
		return fireAllowed
	}
	reason, verdict := "not_member", fireRefused
	if errors.Is(err, auth.ErrUnavailable) {
		// Fail closed for the payload (no event into a possibly foreign org), but the org
		// is told to resync: a member's mutation must not leave it silently stale.
		reason, verdict = "unavailable", fireUnverified
	}
	g.metrics.eventsRefused.WithLabelValues(reason).Inc()
	g.log.Info("event refused: caller not a member of the org named by the header",
		"org", ev.Org, "event", ev.Name, "org_from", ev.OrgFrom, "reason", reason)
	return verdict
}

// fireVerdict is what mayFireInto decided.
type fireVerdict int

const (
	fireAllowed    fireVerdict = iota
	fireRefused                // not a member: nothing is sent
	fireUnverified             // membership unknown (upstream unavailable): the org resyncs
)
