package openapi

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/syncgate/syncgate/triggers"
)

// Options say how triggers are drafted from a document.
type Options struct {
	// OrgParam is the path placeholder that names the org (default orgId). A name that is
	// not a valid placeholder name is made one as Operation.Template does (org-id → org_id).
	OrgParam string
}

func (o Options) orgParam() string {
	if o.OrgParam == "" {
		return triggers.DefaultOrgParam
	}
	return placeholder(o.OrgParam)
}

// Summary counts what a generation or a merge did.
type Summary struct {
	Triggers int // triggers written (merge: added)
	Outside  int // operations outside orgs listed under ignore: (merge: added)
	Skipped  int // operations left out: x-syncgate-ignore, or a path no trigger can take
	Kept     int // merge: operations the file already covers or ignores
}

// plan is what the document asks for: triggers, mutations outside orgs, and the rest.
type plan struct {
	orgParam string
	entries  []entry
	outside  []Operation
	skipped  []string // "METHOD PATH (id): reason"
}

// entry is one trigger to write.
type entry struct {
	op    Operation
	event string
}

// EventName is the event an operation's trigger fires: x-syncgate-event when present,
// else the operationId rule (triggers.OperationEventName: updatePersonViewRow →
// personview.row.updated), else the path rule (triggers.DraftEventName: POST
// /orgs/{orgId}/people → people.created).
func EventName(o Operation) string {
	if o.Event != "" {
		return o.Event
	}
	if name, ok := triggers.OperationEventName(o.OperationID, o.Method); ok {
		return name
	}
	return triggers.DraftEventName(o.Method, o.Template)
}

// makePlan sorts the document's operations; it fails on an x-syncgate-event that is no
// event name, naming the document's line.
func makePlan(s *Spec, orgParam string) (*plan, error) {
	p := &plan{orgParam: orgParam}
	var errs []error
	for _, op := range s.Operations {
		switch {
		case op.Ignore:
			p.skipped = append(p.skipped, op.Label()+": "+ExtIgnore)
		case op.Template == "":
			p.skipped = append(p.skipped, op.Label()+": "+op.Problem)
		case !hasPlaceholder(op.Template, orgParam):
			p.outside = append(p.outside, op)
		default:
			name := EventName(op)
			if !triggers.ValidEventName(name) {
				errs = append(errs, fmt.Errorf("%s:%d: %s %q of %s is not an event name ([a-z0-9_.:-], at most 128 characters)", s.File, op.Line, ExtEvent, name, op.Label()))
				continue
			}
			p.entries = append(p.entries, entry{op: op, event: name})
		}
	}
	return p, errors.Join(errs...)
}

func hasPlaceholder(tmpl, name string) bool {
	return strings.Contains(tmpl+"/", "/{"+name+"}/")
}

// Generate writes a trigger file for the document: one trigger per mutating operation
// whose path holds the org placeholder, the mutations outside orgs under ignore: with
// the reason, and the operations left out as comments. The same document always gives
// the same bytes.
func Generate(s *Spec, o Options) ([]byte, Summary, error) {
	p, err := makePlan(s, o.orgParam())
	if err != nil {
		return nil, Summary{}, err
	}
	var b strings.Builder
	header(&b, s, p.orgParam)
	if p.orgParam != triggers.DefaultOrgParam {
		fmt.Fprintf(&b, "org_param: %s\n", p.orgParam)
	}
	if len(p.entries) == 0 {
		b.WriteString("triggers: []\n")
	} else {
		b.WriteString("triggers:\n")
	}
	for _, e := range p.entries {
		b.WriteString(renderTrigger(e, "  "))
	}
	if len(p.outside) > 0 {
		b.WriteString("ignore:\n")
		b.WriteString(outsideNote(p.orgParam, "  "))
		for _, op := range p.outside {
			b.WriteString(renderIgnore(op, p.orgParam, "  "))
		}
	}
	if len(p.skipped) > 0 {
		b.WriteString("# Not generated:\n")
		for _, line := range p.skipped {
			fmt.Fprintf(&b, "#   %s\n", line)
		}
	}
	return []byte(b.String()), Summary{Triggers: len(p.entries), Outside: len(p.outside), Skipped: len(p.skipped)}, nil
}

func header(b *strings.Builder, s *Spec, orgParam string) {
	title := s.Title
	if title == "" {
		title = "the API"
	}
	fmt.Fprintf(b, "# Triggers for %s, generated from %s by syncgate triggers from-openapi.\n", title, filepath.Base(s.File))
	fmt.Fprintf(b, "# One trigger per POST, PUT, PATCH and DELETE operation whose path holds {%s}; every\n", orgParam)
	b.WriteString("# other placeholder is a payload ID. Event names: x-syncgate-event, else the operationId\n")
	b.WriteString("# (updatePersonViewRow → personview.row.updated). Edit freely: --merge FILE keeps your\n")
	b.WriteString("# edits and adds only operations that are new; syncgate coverage gates CI on this file.\n")
}

// renderTrigger writes one trigger as a list item at indent.
func renderTrigger(e entry, indent string) string {
	var b strings.Builder
	if e.op.OperationID != "" {
		note := e.op.OperationID
		if e.op.Event != "" {
			note += " (" + ExtEvent + ")"
		}
		fmt.Fprintf(&b, "%s# %s\n", indent, note)
	}
	fmt.Fprintf(&b, "%s- event: %s\n%s  method: %s\n%s  path: %s\n", indent, e.event, indent, e.op.Method, indent, e.op.Template)
	if e.op.CreatedID != "" && e.op.CreatedKey != "" {
		fmt.Fprintf(&b, "%s  from_response:\n%s    %s: %s\n", indent, indent, e.op.CreatedKey, e.op.CreatedID)
	}
	return b.String()
}

// outsideNote explains the ignore: list's generated entries.
func outsideNote(orgParam, indent string) string {
	return fmt.Sprintf("%s# Mutations outside any organization (no {%s} in the path): no trigger was generated.\n"+
		"%s# Give one a trigger with org: header:NAME or a fixed org and remove it here, or keep it\n"+
		"%s# here as a deliberate gap (syncgate coverage accepts what this list names).\n", indent, orgParam, indent, indent)
}

// renderIgnore writes one operation outside orgs as an ignore: item, with the reason.
func renderIgnore(op Operation, orgParam, indent string) string {
	reason := fmt.Sprintf("no {%s} in the path", orgParam)
	if op.OperationID != "" {
		reason = op.OperationID + ": " + reason
	}
	return fmt.Sprintf("%s- %s %s # %s\n", indent, op.Method, op.Template, reason)
}
