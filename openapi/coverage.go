package openapi

import (
	"github.com/syncgate/syncgate/triggers"
)

// Coverage compares a document's mutating operations with a trigger file, through the
// matcher the gateway fires with: an operation is covered when a call of its shape
// (Operation.Sample) matches a trigger's method and path.
type Coverage struct {
	Operations  int // mutating operations in the document
	Triggered   int // matched by at least one trigger
	Ignored     int // not triggered, but x-syncgate-ignore or under the file's ignore:
	Untriggered []Operation
	// Unused are the triggers that match no operation of the document (a path that
	// changed, a typo, an endpoint that is gone).
	Unused []triggers.Trigger
	// UnusedIgnores are ignore: entries that match no operation: stale gaps.
	UnusedIgnores []triggers.Ignore
}

// OK reports whether nothing is missing or stale: the CI gate.
func (c Coverage) OK() bool {
	return len(c.Untriggered) == 0 && len(c.Unused) == 0 && len(c.UnusedIgnores) == 0
}

// CheckCoverage compares the document with the trigger set.
func CheckCoverage(s *Spec, set *triggers.Set) Coverage {
	all := set.Triggers()
	usedT := make([]bool, len(all))
	ignores := set.Ignored()
	usedI := make([]bool, len(ignores))
	c := Coverage{Operations: len(s.Operations)}
	for _, op := range s.Operations {
		var matched []int
		ig, ignored := -1, false
		if op.Template != "" {
			matched = set.Matching(op.Method, op.Sample())
			ig, ignored = set.Ignores(op.Method, op.Sample())
		}
		for _, i := range matched {
			usedT[i] = true
		}
		if ignored {
			usedI[ig] = true
		}
		switch {
		case len(matched) > 0:
			c.Triggered++
		case ignored || op.Ignore:
			c.Ignored++
		default:
			c.Untriggered = append(c.Untriggered, op)
		}
	}
	for i, t := range all {
		if !usedT[i] {
			c.Unused = append(c.Unused, t)
		}
	}
	for i, e := range ignores {
		if !usedI[i] {
			c.UnusedIgnores = append(c.UnusedIgnores, e)
		}
	}
	return c
}
