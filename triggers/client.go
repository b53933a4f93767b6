package triggers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Rooms and client events: what sockets themselves may do, declared in the same file.
//
//	rooms:
//	  - view:{viewId}              # a socket may subscribe to view:2 (IDs only)
//	client_events:
//	  - event: view.cell.select
//	    fields: {viewId: id, rowId: id, columnId: id}
//	    room: view:{viewId}        # optional: relay to that room instead of the whole org
//
// Everything else a socket sends is dropped.

const (
	maxClientFields = 16
	maxRooms        = 64
)

// ErrNotDeclared and ErrBadPayload are the reasons a client event or a room is refused.
var (
	ErrNotDeclared = errors.New("not declared")
	ErrBadPayload  = errors.New("payload does not match the declaration")
)

// reservedEvents are the names the gateway (subscribe, rate_limited, revoked, resync...) and
// Socket.IO use themselves: a client event so named would never be relayed, or would let a
// member make the rest of the org believe it was revoked or must re-fetch everything.
var reservedEvents = map[string]bool{
	"subscribe": true, "unsubscribe": true, "rate_limited": true, "revoked": true, "resync": true,
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// roomTemplate is one declared room, e.g. view:{viewId}.
type roomTemplate struct {
	text  string
	parts []roomPart
}

// ClientEvent is one declared client event.
type ClientEvent struct {
	Name   string
	Fields []string // payload keys, each an ID
	room   []roomPart
}

// rooms validates the rooms: list.
func (p *parser) rooms(n *yaml.Node) []roomTemplate {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "rooms must be a list of room templates such as view:{viewId}")
		return nil
	}
	if len(n.Content) > maxRooms {
		p.addf(n.Line, "at most %d rooms", maxRooms)
		return nil
	}
	var out []roomTemplate
	seen := map[string]int{}
	for _, item := range n.Content {
		tmpl, ok := p.scalar(item, "room")
		if !ok {
			continue
		}
		parts, problems := parseRoom(tmpl, func(string) bool { return true })
		for _, msg := range problems {
			p.addf(item.Line, "%s", msg)
		}
		hasParam := false
		for _, part := range parts {
			hasParam = hasParam || part.param != ""
		}
		if len(problems) == 0 && hasParam && (parts[0].param != "" || !strings.Contains(parts[0].lit, ":")) {
			p.addf(item.Line, "room %q must start with a literal prefix with a colon, such as view:{viewId}, so that room names never collide with socket IDs", tmpl)
			problems = append(problems, "prefix")
		}
		for _, part := range parts {
			if part.param == p.orgParam {
				p.addf(item.Line, "room %q: {%s} is implied (rooms live inside an org namespace)", tmpl, p.orgParam)
				problems = append(problems, "org")
			}
		}
		if first, dup := seen[tmpl]; dup {
			p.addf(item.Line, "duplicate room %q (first at line %d)", tmpl, first)
			continue
		}
		seen[tmpl] = item.Line
		if len(problems) == 0 {
			out = append(out, roomTemplate{text: tmpl, parts: parts})
		}
	}
	return out
}

// clientEvents validates the client_events: list.
func (p *parser) clientEvents(n *yaml.Node) map[string]*ClientEvent {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "client_events must be a list")
		return nil
	}
	out := map[string]*ClientEvent{}
	lines := map[string]int{}
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			p.addf(item.Line, "each client event must be a mapping with event and fields")
			continue
		}
		before := len(p.problems)
		ce := &ClientEvent{}
		var roomNode *yaml.Node
		p.pairs(item, func(key string, k, v *yaml.Node) {
			switch key {
			case "event":
				ce.Name = p.event(v)
				if reservedEvents[ce.Name] {
					p.addf(v.Line, "event %q is reserved (used by the gateway or Socket.IO)", ce.Name)
				}
			case "fields":
				ce.Fields = p.fields(v)
			case "room":
				roomNode = v
			default:
				p.addf(k.Line, "unknown key %q (want one of event, fields, room)", key)
			}
		})
		if ce.Name == "" && len(p.problems) == before {
			p.addf(item.Line, "client event is missing event")
		}
		if ce.Fields == nil && len(p.problems) == before {
			p.addf(item.Line, "client event is missing fields")
		}
		if roomNode != nil {
			if tmpl, ok := p.scalar(roomNode, "room"); ok {
				known := func(name string) bool {
					for _, f := range ce.Fields {
						if f == name {
							return true
						}
					}
					return false
				}
				parts, problems := parseRoom(tmpl, known)
				for _, msg := range problems {
					p.addf(roomNode.Line, "%s", strings.Replace(msg, "neither a path placeholder nor a from_response key", "not one of the fields", 1))
				}
				ce.room = parts
			}
		}
		if first, dup := lines[ce.Name]; dup && ce.Name != "" {
			p.addf(item.Line, "duplicate client event %q (first at line %d)", ce.Name, first)
			continue
		}
		lines[ce.Name] = item.Line
		if len(p.problems) == before {
			out[ce.Name] = ce
		}
	}
	return out
}

// fields validates a client event's fields mapping (name: id).
func (p *parser) fields(n *yaml.Node) []string {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		p.addf(n.Line, "fields must be a non-empty mapping of name: id")
		return nil
	}
	if len(n.Content)/2 > maxClientFields {
		p.addf(n.Line, "at most %d fields", maxClientFields)
		return nil
	}
	var out []string
	p.pairs(n, func(key string, k, v *yaml.Node) {
		if !placeholderName.MatchString(key) || key == "by" || key == p.orgParam {
			p.addf(k.Line, "bad field name %q (want [A-Za-z_][A-Za-z0-9_]{0,63}; \"by\" and %q are reserved)", key, p.orgParam)
			return
		}
		if typ, ok := p.scalar(v, "field "+key); ok && typ != "id" {
			p.addf(v.Line, "field %s: type %q is not supported (want id)", key, typ)
			return
		}
		out = append(out, key)
	})
	return out
}

// ClientEvent returns the declaration of a client event, or nil.
func (s *Set) ClientEvent(name string) *ClientEvent {
	if s == nil {
		return nil
	}
	return s.clientEvents[name]
}

// HasClientEvents reports whether any client event is declared.
func (s *Set) HasClientEvents() bool { return s != nil && len(s.clientEvents) > 0 }

// Validate checks a client event's payload: a JSON object with exactly the declared
// fields, each an ID. It returns the canonical data (numbers for all-digit IDs) and the
// room to relay to ("" for the whole org).
func (ce *ClientEvent) Validate(payload any) (map[string]any, string, error) {
	obj, ok := payload.(map[string]any)
	if !ok || len(obj) != len(ce.Fields) {
		return nil, "", fmt.Errorf("%w: want an object with exactly %s", ErrBadPayload, strings.Join(ce.Fields, ", "))
	}
	data := make(map[string]any, len(ce.Fields))
	for _, f := range ce.Fields {
		v, ok := obj[f]
		if !ok {
			return nil, "", fmt.Errorf("%w: missing %s", ErrBadPayload, f)
		}
		id, ok := clientID(v)
		if !ok {
			return nil, "", fmt.Errorf("%w: %s is not an ID", ErrBadPayload, f)
		}
		data[f] = idValue(id)
	}
	room := ""
	if ce.room != nil {
		room = expandRoom(ce.room, "", data)
	}
	return data, room, nil
}

// clientID accepts an ID sent by a client: a string or a non-negative integer, as text.
func clientID(v any) (string, bool) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case fmt.Stringer: // json.Number
		s = t.String()
		// Beyond 2^53 a JavaScript receiver would read another number than the one sent.
		if n, err := strconv.ParseUint(s, 10, 64); err != nil || n > 1<<53 {
			return "", false
		}
	case float64:
		if t < 0 || t != float64(int64(t)) || t > 1<<53 {
			return "", false
		}
		s = fmt.Sprintf("%d", int64(t))
	default:
		return "", false
	}
	if !isID(s) {
		return "", false
	}
	if allDigits(s) {
		if c, ok := canonicalNumber(s); ok { // strip leading zeros like path IDs
			s = c
		}
	}
	return s, true
}

// RoomAllowed reports whether a socket may subscribe to room: it must fill one of the
// declared templates with IDs.
func (s *Set) RoomAllowed(room string) bool {
	if s == nil || len(room) > maxRoomLen {
		return false
	}
	for _, t := range s.rooms {
		if matchRoom(t.parts, room) {
			return true
		}
	}
	return false
}

// matchRoom matches room against a template whose placeholders are IDs (canonical: no
// leading zero in an all-digit ID). Literal parts are matched exactly. It tracks the set of
// positions reachable after each part, so a hostile room costs at most
// parts × len(room) × maxIDLen steps instead of one per way of splitting it.
func matchRoom(parts []roomPart, room string) bool {
	cur := make([]bool, len(room)+1)
	cur[0] = true
	for _, p := range parts {
		next := make([]bool, len(room)+1)
		reached := false
		for pos, ok := range cur {
			if !ok {
				continue
			}
			if p.param == "" {
				if strings.HasPrefix(room[pos:], p.lit) {
					next[pos+len(p.lit)], reached = true, true
				}
				continue
			}
			for end := pos + 1; end <= len(room) && end-pos <= maxIDLen && isID(room[end-1:end]); end++ {
				id := room[pos:end]
				if len(id) > 1 && id[0] == '0' && allDigits(id) {
					continue
				}
				next[end], reached = true, true
			}
		}
		if !reached {
			return false
		}
		cur = next
	}
	return cur[len(room)]
}

// Validation shared with the publish API, so events that do not come from a trigger obey
// the same IDs-only rules.

// ValidEventName reports whether name is a valid event name ([a-z0-9_.:-], at most 128).
func ValidEventName(name string) bool { return len(name) <= maxEventLen && eventName.MatchString(name) }

// ValidateIDs checks an event payload built outside a trigger: at most 16 keys, each a
// placeholder-like name, each value an ID (string or non-negative integer). It returns the
// canonical data.
func ValidateIDs(payload any) (map[string]any, error) {
	obj, ok := payload.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: data must be an object of IDs", ErrBadPayload)
	}
	if len(obj) > maxClientFields {
		return nil, fmt.Errorf("%w: at most %d keys", ErrBadPayload, maxClientFields)
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if !placeholderName.MatchString(k) {
			return nil, fmt.Errorf("%w: bad key %q", ErrBadPayload, k)
		}
		id, ok := clientID(v)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not an ID", ErrBadPayload, k)
		}
		out[k] = idValue(id)
	}
	return out, nil
}

// Knows reports whether event is fired by a trigger or declared as a client event.
func (s *Set) Knows(event string) bool {
	if s == nil {
		return false
	}
	if _, ok := s.clientEvents[event]; ok {
		return true
	}
	for _, t := range s.triggers {
		if t.name == event {
			return true
		}
	}
	return false
}
