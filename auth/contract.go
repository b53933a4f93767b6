package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/syncgate/syncgate/orgid"
)

// jsonPath is a dotted path of object keys into a JSON value; empty is the value itself.
type jsonPath []string

const maxPathLen = 256

func parsePath(name, s string) (jsonPath, error) {
	if s == "." {
		return jsonPath{}, nil
	}
	if len(s) > maxPathLen {
		return nil, fmt.Errorf("%s is longer than %d bytes", name, maxPathLen)
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%s %q: empty key (write keys separated by single dots, or \".\" for the value itself)", name, s)
		}
	}
	return parts, nil
}

func (p jsonPath) String() string {
	if len(p) == 0 {
		return "."
	}
	return strings.Join(p, ".")
}

// quoted names the path in messages.
func (p jsonPath) quoted(self string) string {
	if len(p) == 0 {
		return self
	}
	return fmt.Sprintf("%q", p.String())
}

// get follows p from v. found is false when a key is missing, a step is null, or the
// value itself is no object (a bare ID in a list has no role). bad is set when a step
// inside the value is neither an object nor null: the answer has another structure.
func (p jsonPath) get(v any, self string) (out any, found bool, bad string) {
	for i, k := range p {
		switch obj := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = obj[k]; !ok {
				return nil, false, ""
			}
		case nil:
			return nil, false, ""
		default:
			if i == 0 {
				return nil, false, ""
			}
			return nil, false, fmt.Sprintf("%s is %s, not an object", p[:i].quoted(self), kindOf(v, true))
		}
	}
	return v, true, ""
}

// contract is the configured shape of the memberships answer.
type contract struct {
	perOrg          bool
	list, org, role jsonPath // role nil: read no role (per-org mode only)
	ids             orgid.Format
}

func newContract(cfg MembershipsConfig, perOrg bool) (contract, error) {
	c := contract{perOrg: perOrg, ids: cfg.IDs}
	var err error
	if perOrg {
		// The defaults are accepted (a caller may pass its flags' defaults whatever the
		// mode); anything else can only be a misunderstanding of per-org mode.
		if orDefault(cfg.ListPath, DefaultListPath) != DefaultListPath || orDefault(cfg.OrgPath, DefaultOrgPath) != DefaultOrgPath {
			return c, errors.New("ListPath and OrgPath apply to list mode only: in per-org mode the URL names the org")
		}
		if cfg.RolePath != "" {
			c.role, err = parsePath("RolePath", cfg.RolePath)
		}
		return c, err
	}
	if c.list, err = parsePath("ListPath", orDefault(cfg.ListPath, DefaultListPath)); err != nil {
		return c, err
	}
	if c.org, err = parsePath("OrgPath", orDefault(cfg.OrgPath, DefaultOrgPath)); err != nil {
		return c, err
	}
	c.role, err = parsePath("RolePath", orDefault(cfg.RolePath, DefaultRolePath))
	return c, err
}

func (c contract) readsRole() bool { return c.role != nil }

// expected says, for humans, what the configured contract wants.
func (c contract) expected() string {
	role := fmt.Sprintf("%s a string or null", c.role.quoted("the value"))
	if c.perOrg {
		return fmt.Sprintf("expected a 2xx answer with %s", role)
	}
	idKind := "a string or integer"
	if c.ids == orgid.Integer {
		idKind = "an integer"
	}
	if len(c.org) == 0 {
		return fmt.Sprintf("expected %s to be an array of org IDs (%s each)", c.list.quoted("the body"), idKind)
	}
	return fmt.Sprintf("expected %s to be an array of objects with %s %s and %s",
		c.list.quoted("the body"), c.org.quoted("the item"), idKind, role)
}

// problem is the full contract problem: expected, what arrived (shape only), and the first
// thing that did not fit.
func (c contract) problem(doc any, detail string) string {
	return fmt.Sprintf("%s; got %s (%s)", c.expected(), describeShape(doc), detail)
}

// readList reads a list-mode answer. problem is "" when it fits.
func (c contract) readList(doc any, allowed func(*string) bool) (ms []Membership, problem string) {
	v, found, bad := c.list.get(doc, "the body")
	items, isArray := v.([]any)
	switch {
	case bad != "":
		return nil, c.problem(doc, bad)
	case !found || !isArray:
		return nil, c.problem(doc, c.list.quoted("the body")+" is "+kindOf(v, found))
	}
	ms = make([]Membership, 0, len(items))
	for i, item := range items {
		org, detail := c.readOrg(item)
		if detail == "" {
			var role *string
			role, detail = c.readRole(item)
			if detail == "" {
				ms = append(ms, Membership{Org: org, Role: role, Allowed: allowed(role)})
				continue
			}
		}
		return nil, c.problem(doc, fmt.Sprintf("item %d: %s", i, detail))
	}
	return ms, ""
}

// readOrg reads the org ID of one membership; detail says what does not fit, never the value.
func (c contract) readOrg(item any) (org, detail string) {
	v, found, bad := c.org.get(item, "the item")
	if bad != "" {
		return "", bad
	}
	name := c.org.quoted("the item")
	switch x := v.(type) {
	case string:
		if c.ids == orgid.Integer {
			return "", name + " is a string, but org IDs are integers"
		}
		raw, _ := json.Marshal(x)
		if id, ok := c.ids.FromJSON(raw); ok {
			return id, ""
		}
		return "", name + " is a string that is not an org ID: " + c.ids.Describe()
	case json.Number:
		if id, ok := c.ids.FromJSON(json.RawMessage(x)); ok {
			return id, ""
		}
		return "", name + " is a number that is not an org ID: " + orgid.Integer.Describe()
	}
	return "", name + " is " + kindOf(v, found)
}

// readRole reads a role: nil when null or missing (a follower).
func (c contract) readRole(item any) (role *string, detail string) {
	v, found, bad := c.role.get(item, "the value")
	if bad != "" {
		return nil, bad
	}
	switch x := v.(type) {
	case nil:
		return nil, ""
	case string:
		return &x, ""
	}
	return nil, c.role.quoted("the value") + " is " + kindOf(v, found) + ", not a string or null"
}

// kindOf names a JSON value's type for messages.
func kindOf(v any, found bool) string {
	if !found {
		return "missing"
	}
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "of an unknown type"
}

var errTrailingData = errors.New("trailing data after the JSON value")

// decodeJSON decodes exactly one JSON value, keeping numbers as their literal text so that
// 1.0 or 1e0 are never mistaken for the org 1.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding memberships: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailingData
	}
	return v, nil
}

// contractState remembers the last contract problem and rate-limits its warning.
type contractState struct {
	now func() time.Time // time.Now; tests move it

	mu      sync.Mutex
	last    ContractProblem
	warned  time.Time // last Warn; zero: never
	anyWarn bool
}

// contractWarnEvery is how often one Memberships warns about a broken contract.
const contractWarnEvery = time.Minute

// broke records a problem and reports whether it should be logged at Warn now.
func (s *contractState) broke(problem string) (warn bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.last = ContractProblem{Problem: problem, At: now}
	if s.anyWarn && now.Sub(s.warned) < contractWarnEvery {
		return false
	}
	s.anyWarn, s.warned = true, now
	return true
}

// fits clears the problem: the last answer fitted.
func (s *contractState) fits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = ContractProblem{}
}

func (s *contractState) get() ContractProblem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
