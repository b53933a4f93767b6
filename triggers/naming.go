package triggers

import (
	"strings"
	"unicode"

	"github.com/syncgate/syncgate/orgid"
)

// Naming: the one rule, shared by the gateway's table of unmatched mutations, syncgate
// suggest, syncgate replay and syncgate triggers from-openapi, for how a call's path
// becomes a trigger path and how a draft trigger's event is named.

// PathShape replaces the ID-like segments of an API path with placeholders named after
// the segment before them: /orgs/1/people/7 → /orgs/{orgId}/people/{personId}. The segment
// after orgs, organizations or the plural of orgParam (workspaces for workspace or
// workspaceId) is the org, named {orgParam}, whenever it is an org ID at all: a slug such
// as acme-corp has no digits to be recognised by.
func PathShape(path, orgParam string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	used := map[string]int{}
	for i, s := range segs {
		prev := ""
		if i > 0 && !strings.HasPrefix(segs[i-1], "{") {
			prev = segs[i-1]
		}
		org := prev != "" && orgCollection(prev, orgParam) && orgid.Any(s)
		if !org && !idLike(s) {
			continue
		}
		name := "id"
		switch {
		case org:
			name = orgParam
		case prev != "":
			name = IDName(prev)
		}
		used[name]++
		if used[name] > 1 {
			name += strings.Repeat("2", used[name]-1)
		}
		segs[i] = "{" + name + "}"
	}
	return "/" + strings.Join(segs, "/")
}

// IDName is the placeholder name PathShape gives an ID after the collection segment
// coll: people → personId, call_assignments → call_assignmentId.
func IDName(coll string) string { return singular(coll) + "Id" }

// orgCollection reports whether a path segment names the collection of orgs.
func orgCollection(seg, orgParam string) bool {
	if seg == "orgs" || seg == "organizations" {
		return true
	}
	one := singular(seg)
	return one == orgParam || one+"Id" == orgParam
}

// idLike: digits, or a long token with digits (UUIDs, hashes).
func idLike(s string) bool {
	if s == "" {
		return false
	}
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
		default:
			return false
		}
	}
	return digits == len(s) || (digits > 0 && len(s) >= 16)
}

func singular(s string) string {
	s = strings.ReplaceAll(s, "-", "_")
	switch {
	case s == "people":
		return "person"
	case strings.HasSuffix(s, "ies"):
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "ses"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		return s[:len(s)-1]
	}
	return s
}

// methodVerb is the past tense a draft event name gives each mutating method.
var methodVerb = map[string]string{"POST": "created", "PUT": "put", "PATCH": "updated", "DELETE": "deleted"}

// DraftEventName names the event of a trigger drafted from a path shape: the last literal
// segment, then the method's verb: PATCH /orgs/{orgId}/people/{personId} → people.updated,
// POST /orgs/{orgId}/call_assignments → callassignments.created.
func DraftEventName(method, path string) string {
	var last string
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		if s != "" && !strings.HasPrefix(s, "{") {
			last = s
		}
	}
	verb := methodVerb[strings.ToUpper(method)]
	if last == "" {
		return "changed." + verb
	}
	return eventWord(last) + "." + verb
}

// eventWord lower-cases s and keeps only the characters an event name word may hold.
func eventWord(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// pastTense holds the verbs an operationId may start (or end) with that do not take a
// plain -d/-ed, and the synonyms that name the same change.
var pastTense = map[string]string{
	"create": "created", "add": "added", "new": "created", "post": "created", "insert": "created",
	"update": "updated", "patch": "updated", "edit": "updated", "modify": "updated", "change": "updated",
	"put": "put", "set": "set", "replace": "replaced", "upsert": "upserted",
	"delete": "deleted", "remove": "removed", "destroy": "deleted", "del": "deleted",
	"send": "sent", "reset": "reset", "upload": "uploaded", "copy": "copied", "apply": "applied",
	"assign": "assigned", "unassign": "unassigned", "archive": "archived", "restore": "restored",
	"move": "moved", "merge": "merged", "import": "imported", "publish": "published",
	"cancel": "cancelled", "approve": "approved", "reject": "rejected", "submit": "submitted",
	"tag": "tagged", "untag": "untagged", "link": "linked", "unlink": "unlinked",
}

// OperationEventName names the event of an operation from its operationId: the first word
// is the verb (or the last, for ids such as people_create), the word before the verb's
// object is the resource, and the words before that its owner, run together:
//
//	updatePersonViewRow → personview.row.updated
//	createPerson        → person.created
//	add_person_tag      → person.tag.added
//	people_create       → people.created
//	teams_partial_update → teams.updated
//
// Words split at case changes, '_', '-', '.' and spaces. A verb is one of a fixed list
// (create, add, update, patch, set, delete, remove, …; past tense from the list). When no
// word is a known verb, every word is the resource and the method's verb is used
// (DraftEventName's: POST created, PUT put, PATCH updated, DELETE deleted). ok is false
// when the operationId has no usable word.
func OperationEventName(operationID, method string) (string, bool) {
	words := splitWords(operationID)
	if len(words) == 0 {
		return "", false
	}
	verb := ""
	switch {
	case len(words) > 1 && pastTense[words[0]] != "":
		verb, words = pastTense[words[0]], words[1:]
	case len(words) > 1 && pastTense[words[len(words)-1]] != "":
		verb, words = pastTense[words[len(words)-1]], words[:len(words)-1]
		if len(words) > 1 && words[len(words)-1] == "partial" { // teams_partial_update
			words = words[:len(words)-1]
		}
	default:
		verb = methodVerb[strings.ToUpper(method)]
	}
	name := words[len(words)-1]
	if len(words) > 1 {
		name = strings.Join(words[:len(words)-1], "") + "." + name
	}
	name += "." + verb
	if len(name) > maxEventLen {
		return "", false
	}
	return name, true
}

// splitWords splits an identifier into lower-case words of [a-z0-9] at case changes
// (HTTPServer → http, server) and at any other character.
func splitWords(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)):
			flush()
			continue
		case unicode.IsUpper(r) && len(cur) > 0:
			prevLower := unicode.IsLower(cur[len(cur)-1]) || unicode.IsDigit(cur[len(cur)-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || nextLower {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}
