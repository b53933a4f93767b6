package triggers

import (
	"fmt"
	"regexp"
	"strings"
)

const maxRoomLen = 128 // longest room template

var roomLiteral = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// roomPart is one piece of a room template: literal text or a {name} placeholder.
type roomPart struct {
	lit   string
	param string
	org   bool // the placeholder names the org: it expands to the event's org
}

// parseRoom parses a room template such as "view:{viewId}". known reports
// whether a placeholder name has a value when the trigger fires.
func parseRoom(tmpl string, known func(string) bool) ([]roomPart, []string) {
	if tmpl == "" {
		return nil, []string{"room is empty"}
	}
	if len(tmpl) > maxRoomLen {
		return nil, []string{fmt.Sprintf("room is longer than %d characters", maxRoomLen)}
	}
	var parts []roomPart
	var problems []string
	rest := tmpl
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			open = len(rest)
		}
		if lit := rest[:open]; lit != "" {
			if !roomLiteral.MatchString(lit) {
				problems = append(problems, fmt.Sprintf("room %q: text %q has characters outside [A-Za-z0-9_.:-] or an unmatched }", tmpl, lit))
			}
			parts = append(parts, roomPart{lit: lit})
		}
		if open == len(rest) {
			break
		}
		closing := strings.IndexByte(rest[open:], '}')
		if closing < 0 {
			problems = append(problems, fmt.Sprintf("room %q has an unclosed {", tmpl))
			break
		}
		name := rest[open+1 : open+closing]
		switch {
		case !placeholderName.MatchString(name):
			problems = append(problems, fmt.Sprintf("room %q: bad placeholder name %q", tmpl, name))
		case !known(name):
			problems = append(problems, fmt.Sprintf("room %q uses {%s}, which is neither a path placeholder nor a from_response key", tmpl, name))
		default:
			parts = append(parts, roomPart{param: name})
		}
		rest = rest[open+closing+1:]
	}
	return parts, problems
}

// expandRoom fills a room template; org is the canonical org, data the event data.
func expandRoom(parts []roomPart, org string, data map[string]any) string {
	var b strings.Builder
	for _, p := range parts {
		switch {
		case p.param == "":
			b.WriteString(p.lit)
		case p.org:
			b.WriteString(org)
		default:
			b.WriteString(idString(data[p.param]))
		}
	}
	return b.String()
}
