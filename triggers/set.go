package triggers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/syncgate/syncgate/orgid"
)

// orgKind says where a trigger's org comes from.
type orgKind int

const (
	orgFromPath   orgKind = iota // a path placeholder: org_param's, or org: "{NAME}"
	orgFromHeader                // a request header
	orgFixed                     // an org ID in the trigger file
)

// fromResponse is one payload key looked up in the JSON response body.
type fromResponse struct {
	key  string
	path []string // dotted path, split
}

// trigger is one validated entry of the trigger file.
type trigger struct {
	line      int
	name      string
	method    string
	segs      []segment
	orgKind   orgKind
	orgIndex  int    // segment index of the org placeholder when orgKind == orgFromPath
	orgName   string // that placeholder's name: the namespace, not a payload key
	orgHeader string // canonical header name when orgKind == orgFromHeader
	orgFixed  string // canonical org when orgKind == orgFixed
	fromResp  []fromResponse
	room      []roomPart
	roomLine  int      // line of room:, for warnings
	roomText  string   // the room template as written
	delivery  delivery // coalesce:, version_from:, meta:
}

// readsBody reports whether the trigger needs the response body.
func (t *trigger) readsBody() bool { return len(t.fromResp) > 0 || t.delivery.versionPath != nil }

// Set is an immutable, validated set of triggers, safe for concurrent use.
// A nil *Set matches nothing.
type Set struct {
	file     string       // the name problems and warnings carry
	ids      orgid.Format // how org IDs are read and made canonical
	orgParam string       // the path placeholder that names the org
	triggers []*trigger
	roots    map[string]*node // per upper-case method
	anyBody  bool             // some trigger reads the response body

	ignores     []*ignoreEntry   // deliberate gaps (ignore:), in file order
	ignoreRoots map[string]*node // their index, per method

	rooms        []roomTemplate          // rooms sockets may subscribe to
	clientEvents map[string]*ClientEvent // events sockets may send, by name
}

// Len returns the number of triggers in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.triggers)
}

// IDs returns the org ID format the set was loaded with (Text for a nil set).
func (s *Set) IDs() orgid.Format {
	if s == nil {
		return orgid.Text
	}
	return s.ids
}

// OrgParam returns the path placeholder that names the org: the file's org_param, or
// "orgId" (also for a nil set).
func (s *Set) OrgParam() string {
	if s == nil || s.orgParam == "" {
		return DefaultOrgParam
	}
	return s.orgParam
}

// CanonicalOrg reads an org ID as a request or an operator names it and returns its
// canonical form in the set's format (orgid.Format.Canonical): what Event.Org holds.
func (s *Set) CanonicalOrg(id string) (string, bool) { return s.IDs().Canonical(id) }

// newSet indexes validated triggers (kept in file order).
func newSet(ts []*trigger) *Set {
	s := &Set{triggers: ts, roots: map[string]*node{}}
	for i, t := range ts {
		root := s.roots[t.method]
		if root == nil {
			root = &node{}
			s.roots[t.method] = root
		}
		root.insert(t.segs, i)
		if t.readsBody() {
			s.anyBody = true
		}
	}
	return s
}

// candidates returns the indexes, in file order, of the triggers whose method
// and path shape match the request, with the request's decoded segments.
func (s *Set) candidates(method, path string) ([]int, []string) {
	if s == nil {
		return nil, nil
	}
	root := s.roots[strings.ToUpper(method)]
	if root == nil {
		return nil, nil
	}
	segs, ok := splitRequestPath(path)
	if !ok {
		return nil, nil
	}
	idx := root.walk(segs, 0, nil)
	if len(idx) > 1 {
		slices.Sort(idx)
	}
	return idx, segs
}

// NeedsBody reports whether a request with this method and path (relative to
// the API prefix, escaped as sent) matches a trigger that reads the response
// body, so the caller knows whether to capture it.
func (s *Set) NeedsBody(method, path string) bool {
	if s == nil || !s.anyBody {
		return false
	}
	idx, _ := s.candidates(method, path)
	for _, i := range idx {
		if s.triggers[i].readsBody() {
			return true
		}
	}
	return false
}

// Match returns the events fired, in file order, by a successful (2xx) call.
// path is relative to the API prefix, escaped as sent; a query is ignored.
// reqHeader is the request's header (for org: header:NAME), respBody the
// response body, decoded, or nil when it is unavailable. A trigger whose
// from_response values cannot be read (no body, no such field, not an ID) fires
// an Incomplete event, which the caller turns into a resync of the org; a
// trigger whose org is not an ID is skipped.
func (s *Set) Match(method, path string, reqHeader http.Header, respBody []byte) []Event {
	return s.MatchResponse(method, path, reqHeader, nil, respBody)
}

// MatchResponse is Match with the response's header too, where a trigger's meta: [etag]
// reads the ETag (Match passes none, so its events carry no etag).
func (s *Set) MatchResponse(method, path string, reqHeader, respHeader http.Header, respBody []byte) []Event {
	idx, segs := s.candidates(method, path)
	if len(idx) == 0 {
		return nil
	}
	body := lazyJSON{raw: respBody}
	var events []Event
	for _, i := range idx {
		if ev, ok := s.triggers[i].fire(s.ids, segs, reqHeader, respHeader, &body); ok {
			events = append(events, ev)
		}
	}
	return events
}

// fire builds the event of a trigger whose path shape matched segs; ids is the set's
// org ID format.
func (t *trigger) fire(ids orgid.Format, segs []string, h, respHeader http.Header, body *lazyJSON) (Event, bool) {
	var org, from string
	switch t.orgKind {
	case orgFromPath:
		org = segs[t.orgIndex]
	case orgFromHeader:
		from = "header:" + t.orgHeader
		// Exactly one value: with several, which one the upstream used is unknown.
		vals := h.Values(t.orgHeader)
		if len(vals) != 1 {
			return Event{}, false
		}
		org = strings.TrimSpace(vals[0])
	case orgFixed:
		org, from = t.orgFixed, OrgFromFixed
	}
	org, ok := ids.Canonical(org)
	if !ok {
		return Event{}, false
	}
	data := make(map[string]any, len(t.segs)+len(t.fromResp))
	for i, sg := range t.segs {
		if sg.param != "" && !(t.orgKind == orgFromPath && i == t.orgIndex) {
			data[sg.param] = idValue(segs[i])
		}
	}
	for _, fr := range t.fromResp {
		v, ok := body.lookup(fr.path)
		if !ok {
			return Event{Org: org, Name: t.name, Data: map[string]any{}, Incomplete: true, OrgFrom: from}, true
		}
		data[fr.key] = v
	}
	ev := Event{Org: org, Name: t.name, Data: data, OrgFrom: from, Coalesce: t.delivery.coalesce}
	if t.room != nil {
		ev.Room = expandRoom(t.room, org, data)
	}
	if m := t.meta(h, respHeader, body); m != nil {
		ev.setMeta(m)
	}
	return ev, true
}
