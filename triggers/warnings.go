package triggers

import (
	"fmt"
	"slices"
	"strings"
)

// Warnings reports what a valid file allows but probably does not mean, as FILE:LINE
// problems in line order: two triggers of one method that fire on the same calls (both
// lines named), and trigger rooms that no template under rooms: accepts, so that no
// socket is ever in them and their events reach nobody. It is worked out on each call
// (syncgate check), not at load.
func (s *Set) Warnings() []*Problem {
	if s == nil {
		return nil
	}
	out := append(s.overlaps(), s.undeclaredRooms()...)
	slices.SortStableFunc(out, func(a, b *Problem) int { return a.Line - b.Line })
	return out
}

// overlaps compares every two triggers of one method and path length; a file has at
// most a few thousand, and only the check tool asks.
func (s *Set) overlaps() []*Problem {
	var out []*Problem
	for i, a := range s.triggers {
		for _, b := range s.triggers[i+1:] {
			if a.method != b.method || len(a.segs) != len(b.segs) || !s.overlap(a, b) {
				continue
			}
			what := fmt.Sprintf("fires both %s and %s", a.name, b.name)
			if a.name == b.name {
				what = fmt.Sprintf("fires %s twice", a.name)
			}
			out = append(out, &Problem{File: s.file, Line: b.line, Msg: fmt.Sprintf(
				"warning: %s %s (%s) overlaps %s %s (%s) at line %d: a call such as %s %s %s",
				b.method, templateKey(b.segs), b.name, a.method, templateKey(a.segs), a.name, a.line,
				b.method, samplePath(a, b), what)})
		}
	}
	return out
}

// overlap reports whether some request path matches both triggers (same length).
func (s *Set) overlap(a, b *trigger) bool {
	for i := range a.segs {
		if !s.segOverlap(a, b, i) {
			return false
		}
	}
	return true
}

func (s *Set) segOverlap(a, b *trigger, i int) bool {
	sa, sb := a.segs[i], b.segs[i]
	switch {
	case sa.param == "" && sb.param == "":
		return sa.lit == sb.lit
	case sa.param != "" && sb.param != "":
		return true // "1" is an ID and an org ID in every format
	case sa.param == "":
		return s.accepts(b, i, sa.lit)
	default:
		return s.accepts(a, i, sb.lit)
	}
}

// accepts reports whether t's placeholder at segment i takes the value v.
func (s *Set) accepts(t *trigger, i int, v string) bool {
	if !isID(v) {
		return false
	}
	if t.orgKind == orgFromPath && t.orgIndex == i {
		_, ok := s.ids.Canonical(v)
		return ok
	}
	return true
}

// samplePath is a request path both overlapping triggers match.
func samplePath(a, b *trigger) string {
	var sb strings.Builder
	for i := range a.segs {
		sb.WriteByte('/')
		switch {
		case a.segs[i].param == "":
			sb.WriteString(a.segs[i].lit)
		case b.segs[i].param == "":
			sb.WriteString(b.segs[i].lit)
		default:
			sb.WriteString("1")
		}
	}
	if sb.Len() == 0 {
		return "/"
	}
	return sb.String()
}

// undeclaredRooms lists the trigger rooms no declared room template can equal. Templates
// are compared by shape — literals, and one ID wherever placeholders are — because the
// names of their placeholders do not matter to a subscription.
func (s *Set) undeclaredRooms() []*Problem {
	declared := map[string]bool{}
	for _, r := range s.rooms {
		declared[templateShape(r.parts)] = true
	}
	var out []*Problem
	for _, t := range s.triggers {
		if t.room == nil || declared[templateShape(t.room)] {
			continue
		}
		out = append(out, &Problem{File: s.file, Line: t.roomLine, Msg: fmt.Sprintf(
			"warning: room %q of %s is not declared under rooms:, so no socket can subscribe to it and the event reaches nobody (declare it, or drop room: to send to the whole org)",
			t.roomText, t.name)})
	}
	return out
}

// templateShape writes a room template with each run of placeholders as one "{}".
func templateShape(parts []roomPart) string {
	var b strings.Builder
	for _, p := range parts {
		if p.param == "" {
			b.WriteString(p.lit)
		} else if !strings.HasSuffix(b.String(), "{}") {
			b.WriteString("{}")
		}
	}
	return b.String()
}
