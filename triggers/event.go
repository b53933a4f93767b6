package triggers

import (
	"strings"
	"time"
)

// Event is one invalidation event fired by a successful mutating call.
//
// It carries IDs only: nothing from the request or response other than the
// declared placeholders and from_response values ever ends up in Data.
type Event struct {
	// Org is the organization, canonical in the set's org ID format (orgid): the text
	// itself for orgid.Text, the number without leading zeros for orgid.Integer. It
	// never contains '/'. The event goes to the Socket.IO namespace
	// "{namespace prefix}/" + Org; the prefix is the gateway's business.
	Org string
	// Name is the event name from the trigger file, matching [a-z0-9_.:-]+.
	Name string
	// Data maps payload keys to IDs: int64 when the value is all digits and
	// fits, else a string matching [A-Za-z0-9_-]{1,64}. Never nil. The one
	// exception is MetaKey ("_meta"), present only when the trigger asks for
	// metadata (version_from:, meta:) and some was found: a map[string]any of
	// MetaVersion, MetaRequestID and MetaETag to bounded strings, the same
	// values as Version, RequestID and ETag.
	Data map[string]any
	// Room optionally narrows delivery to one room inside the org namespace;
	// "" means the whole namespace.
	Room string
	// Incomplete is set when the call succeeded and the trigger matched, but a
	// from_response ID could not be read (body cut, too large, undecodable, or
	// without the field): Data lacks it and Room is empty. The event must not be
	// sent as is; the org's sockets are told to resync instead, so nobody stays
	// silently stale.
	Incomplete bool
	// OrgFrom says where Org came from: OrgFromPath ("", also for events made
	// outside the trigger file), OrgFromFixed, or "header:" + the header's name
	// (see FromHeader). An org from a path is what the upstream authorised the
	// call for and a fixed org is the operator's choice; an org from a header is
	// the caller's say-so, so the publisher must check the caller is a member.
	OrgFrom string
	// Coalesce is the trigger's coalesce: window: the publisher may merge the
	// events of one org, name and room fired within it into one delivery
	// (package coalesce). 0 means deliver at once.
	Coalesce time.Duration
	// Version is the response value the trigger's version_from: names, if it has
	// the version shape ([A-Za-z0-9._:+-]{1,64}, or a non-negative integer).
	Version string
	// RequestID is the call's X-Request-Id when the trigger's meta: lists request_id.
	RequestID string
	// ETag is the response's ETag when the trigger's meta: lists etag.
	ETag string
}

// setMeta records an event's metadata both in its fields and in Data[MetaKey], which
// is what the sockets receive.
func (e *Event) setMeta(m map[string]any) {
	e.Version, _ = m[MetaVersion].(string)
	e.RequestID, _ = m[MetaRequestID].(string)
	e.ETag, _ = m[MetaETag].(string)
	e.Data[MetaKey] = m
}

// Values of Event.OrgFrom besides "header:NAME".
const (
	OrgFromPath  = ""      // the org placeholder of the call's path (org_param, or org: "{NAME}")
	OrgFromFixed = "fixed" // an org ID in the trigger file
)

// FromHeader reports whether the event's org was read from a request header.
func (e Event) FromHeader() bool { return strings.HasPrefix(e.OrgFrom, "header:") }
