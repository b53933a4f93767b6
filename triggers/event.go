package triggers

import "strings"

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
	// fits, else a string matching [A-Za-z0-9_-]{1,64}. Never nil.
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
}

// Values of Event.OrgFrom besides "header:NAME".
const (
	OrgFromPath  = ""      // the org placeholder of the call's path (org_param, or org: "{NAME}")
	OrgFromFixed = "fixed" // an org ID in the trigger file
)

// FromHeader reports whether the event's org was read from a request header.
func (e Event) FromHeader() bool { return strings.HasPrefix(e.OrgFrom, "header:") }
