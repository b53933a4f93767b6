package triggers

import (
	"fmt"
	"net/textproto"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	maxEventLen    = 128 // longest event name
	maxDottedLen   = 256 // longest from_response path
	maxDottedParts = 32  // most parts in a from_response path
)

var (
	eventName = regexp.MustCompile(`^[a-z0-9_.:-]+$`)
	// headerToken is an HTTP header field name (RFC 9110 token).
	headerToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	entryKeys   = []string{"event", "method", "path", "org", "room", "from_response"}
	mutating    = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}
)

// topKeys are the keys of the file's top-level mapping.
var topKeys = []string{"triggers", "rooms", "client_events"}

// document walks the top-level mapping: the triggers, and the rooms and client events
// sockets may use (client.go).
func (p *parser) document(root *yaml.Node) ([]*trigger, []roomTemplate, map[string]*ClientEvent) {
	if root.Kind != yaml.MappingNode {
		p.addf(root.Line, "top level must be a mapping with a triggers: key")
		return nil, nil, nil
	}
	var list, rooms, clientEvents *yaml.Node
	p.pairs(root, func(key string, k, v *yaml.Node) {
		switch key {
		case "triggers":
			list = v
		case "rooms":
			rooms = v
		case "client_events":
			clientEvents = v
		default:
			p.addf(k.Line, "unknown key %q (want one of %s)", key, strings.Join(topKeys, ", "))
		}
	})
	if list == nil {
		p.addf(root.Line, "missing top-level triggers: key")
		return nil, nil, nil
	}
	rts := p.rooms(rooms)
	ces := p.clientEvents(clientEvents)
	return p.triggerList(list), rts, ces
}

// triggerList validates the triggers: list.
func (p *parser) triggerList(list *yaml.Node) []*trigger {
	switch {
	case list.Kind == yaml.ScalarNode && list.Tag == "!!null":
		return nil // "triggers:" with nothing: an empty list
	case list.Kind != yaml.SequenceNode:
		if list.Kind != yaml.AliasNode {
			p.addf(list.Line, "triggers must be a list")
		}
		return nil
	}
	var ts []*trigger
	seen := map[string]int{}
	for _, item := range list.Content {
		t := p.entry(item)
		if t == nil {
			continue
		}
		key := t.method + " " + templateKey(t.segs) + " " + t.name
		if first, dup := seen[key]; dup {
			p.addf(t.line, "duplicate trigger: %s %s already fires %s at line %d", t.method, templateKey(t.segs), t.name, first)
			continue
		}
		seen[key] = t.line
		ts = append(ts, t)
	}
	return ts
}

// pairs calls fn for each key of a mapping, reporting non-string and duplicate keys.
func (p *parser) pairs(m *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			if k.Kind != yaml.AliasNode {
				p.addf(k.Line, "keys must be strings")
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.addf(k.Line, "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

// scalar returns the text of a scalar value, reporting anything else.
// A null or empty value reports "is empty".
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	switch {
	case n.Kind == yaml.AliasNode:
		return "", false // already reported
	case n.Kind != yaml.ScalarNode:
		p.addf(n.Line, "%s must be a single value, not a list or mapping", what)
		return "", false
	case n.Tag == "!!null" || n.Value == "":
		p.addf(n.Line, "%s is empty", what)
		return "", false
	case n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool":
		p.addf(n.Line, "%s has unsupported tag %s", what, n.Tag)
		return "", false
	}
	return n.Value, true
}

// entry validates one list item; it returns nil if anything is wrong.
func (p *parser) entry(item *yaml.Node) *trigger {
	if item.Kind != yaml.MappingNode {
		if item.Kind != yaml.AliasNode {
			p.addf(item.Line, "each trigger must be a mapping with event, method and path")
		}
		return nil
	}
	before := len(p.problems)
	fields := map[string]*yaml.Node{}
	p.pairs(item, func(key string, k, v *yaml.Node) {
		for _, known := range entryKeys {
			if key == known {
				fields[key] = v
				return
			}
		}
		p.addf(k.Line, "unknown key %q (want one of %s)", key, strings.Join(entryKeys, ", "))
	})
	t := &trigger{line: item.Line}
	for _, req := range []string{"event", "method", "path"} {
		if fields[req] == nil {
			p.addf(item.Line, "trigger is missing %s", req)
		}
	}
	if n := fields["event"]; n != nil {
		t.name = p.event(n)
	}
	if n := fields["method"]; n != nil {
		t.method = p.method(n)
	}
	placeholders := map[string]bool{}
	pathOK := false // the path parsed cleanly, so a missing {orgId} is meaningful
	if n := fields["path"]; n != nil {
		if path, ok := p.scalar(n, "path"); ok {
			segs, problems := parseTemplate(path)
			pathOK = len(problems) == 0
			for _, msg := range problems {
				p.addf(n.Line, "%s", msg)
			}
			t.segs = segs
			for i, s := range segs {
				if s.param != "" {
					placeholders[s.param] = true
				}
				if s.param == orgPlaceholder {
					t.orgIndex = i
				}
			}
		}
	}
	p.org(t, item, fields["org"], placeholders[orgPlaceholder], pathOK)
	if n := fields["from_response"]; n != nil {
		t.fromResp = p.fromResponse(n, placeholders)
	}
	if n := fields["room"]; n != nil {
		if tmpl, ok := p.scalar(n, "room"); ok {
			known := func(name string) bool {
				if name == orgPlaceholder || placeholders[name] {
					return true
				}
				for _, fr := range t.fromResp {
					if fr.key == name {
						return true
					}
				}
				return false
			}
			parts, problems := parseRoom(tmpl, known)
			for _, msg := range problems {
				p.addf(n.Line, "%s", msg)
			}
			t.room = parts
		}
	}
	if len(p.problems) > before {
		return nil
	}
	return t
}

func (p *parser) event(n *yaml.Node) string {
	name, ok := p.scalar(n, "event")
	if !ok {
		return ""
	}
	if len(name) > maxEventLen || !eventName.MatchString(name) {
		p.addf(n.Line, "bad event name %q (want [a-z0-9_.:-], at most %d characters)", name, maxEventLen)
	}
	return name
}

func (p *parser) method(n *yaml.Node) string {
	m, ok := p.scalar(n, "method")
	if !ok {
		return ""
	}
	switch up := strings.ToUpper(m); {
	case mutating[m]:
	case mutating[up]:
		p.addf(n.Line, "method %q must be upper-case: %s", m, up)
	default:
		p.addf(n.Line, "method %q is not a mutation (want POST, PUT, PATCH or DELETE)", m)
	}
	return m
}

// org sets where the trigger's org comes from: {orgId} in the path, a
// request header (org: header:NAME) or a fixed number (org: 7).
func (p *parser) org(t *trigger, item, n *yaml.Node, inPath, pathOK bool) {
	if n == nil {
		if !inPath && pathOK {
			p.addf(item.Line, "no org source: the path has no {orgId} and there is no org: key, so the trigger would broadcast to no namespace")
		}
		t.orgKind = orgFromPath
		return
	}
	v, ok := p.scalar(n, "org")
	if !ok {
		return
	}
	if inPath {
		p.addf(n.Line, "org: conflicts with {orgId} in the path, which already names the org")
		return
	}
	if name, isHeader := strings.CutPrefix(v, "header:"); isHeader {
		name = strings.TrimSpace(name)
		if !headerToken.MatchString(name) {
			p.addf(n.Line, "org: header name %q is not a valid header name", name)
			return
		}
		t.orgKind, t.orgHeader = orgFromHeader, textproto.CanonicalMIMEHeaderKey(name)
		return
	}
	org, ok := canonicalOrg(v)
	if !ok {
		p.addf(n.Line, "org: %q must be header:NAME or an org number (1 to %d digits)", v, maxOrgDigits)
		return
	}
	t.orgKind, t.orgFixed = orgFixed, org
}

// fromResponse validates the from_response mapping of key: dotted.path.
func (p *parser) fromResponse(n *yaml.Node, placeholders map[string]bool) []fromResponse {
	if n.Kind != yaml.MappingNode {
		if n.Kind != yaml.AliasNode {
			p.addf(n.Line, "from_response must be a mapping of key: dotted.path")
		}
		return nil
	}
	if len(n.Content) == 0 {
		p.addf(n.Line, "from_response is empty")
		return nil
	}
	var out []fromResponse
	p.pairs(n, func(key string, k, v *yaml.Node) {
		switch {
		case !placeholderName.MatchString(key):
			p.addf(k.Line, "bad from_response key %q (want [A-Za-z_][A-Za-z0-9_]{0,63})", key)
			return
		case key == orgPlaceholder:
			p.addf(k.Line, "from_response key %q is reserved: it names the org", key)
			return
		case placeholders[key]:
			p.addf(k.Line, "from_response key %q clashes with the path placeholder {%s}", key, key)
			return
		}
		dotted, ok := p.scalar(v, fmt.Sprintf("from_response %s", key))
		if !ok {
			return
		}
		parts := strings.Split(dotted, ".")
		if len(dotted) > maxDottedLen || len(parts) > maxDottedParts || containsEmpty(parts) {
			p.addf(v.Line, "from_response %s: bad path %q (want dotted keys such as data.id)", key, dotted)
			return
		}
		out = append(out, fromResponse{key: key, path: parts})
	})
	return out
}

func containsEmpty(parts []string) bool {
	for _, s := range parts {
		if s == "" {
			return true
		}
	}
	return false
}
