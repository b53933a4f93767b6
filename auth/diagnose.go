package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Diagnosis is what one call of the memberships endpoint told Diagnose.
type Diagnosis struct {
	URL         string       // the URL called (per-org mode: with the org filled in)
	PerOrg      bool         // the URL has OrgPlaceholder: one call per org
	Org         string       // per-org mode: the org asked about
	Status      int          // the HTTP status; 0 when no answer arrived
	Memberships []Membership // list mode: every membership read; per-org mode: the org, when a member
	Member      bool         // per-org mode: the upstream answered 2xx (and it fitted)
	Reason      string       // "" when the answer was definite, else one of ErrorReasons
	// Problem says, for humans, why the answer was not a definite, fitting one: the contract
	// problem (expected and arrived shapes, never values), the status, the transport error.
	Problem string
}

// Diagnose calls the memberships endpoint of cfg once with c (in per-org mode about org,
// which is then required; list mode ignores it) and reports what it understood, without
// caching or logging anything. The error is nil when the answer was 2xx and fitted the
// contract; else it wraps ErrUnauthorized (credentials refused), ErrForbidden (per-org
// mode: not a member of org) or ErrUnavailable (no definite answer, Diagnosis.Problem says
// why), or it is a configuration error.
func Diagnose(ctx context.Context, cfg MembershipsConfig, c Credentials, org string) (Diagnosis, error) {
	m, err := NewMemberships(cfg)
	if err != nil {
		return Diagnosis{}, err
	}
	defer m.Close()
	d := Diagnosis{PerOrg: m.perOrg}
	if m.perOrg {
		if org == "" {
			return d, fmt.Errorf("auth: the memberships URL has %s (per-org mode): an org to try is required", OrgPlaceholder)
		}
		if !m.ids.Valid(org) {
			return d, fmt.Errorf("auth: org %q is not an org ID of format %s: %s", org, m.ids, m.ids.Describe())
		}
		d.Org = org
	}
	if !usable(c) {
		return d, errors.New("auth: no usable credentials (empty, oversized, or with control characters)")
	}
	d.URL = redactURL(m.urlFor(org))
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	a := m.call(ctx, c, org)
	d.Status, d.Reason, d.Memberships = a.status, a.reason, a.items
	d.Member = m.perOrg && a.reason == "" && !a.unauthorized && !a.forbidden
	return d, d.explain(a)
}

// explain fills Problem and returns the matching error.
func (d *Diagnosis) explain(a answer) error {
	switch {
	case a.reason == reasonContract:
		d.Problem = a.problem
	case a.reason == reasonStatus:
		d.Problem = fmt.Sprintf("the upstream answered %d %s, which is no memberships answer", a.status, http.StatusText(a.status))
	case a.reason != "":
		d.Problem = a.detail.Error()
	case a.unauthorized:
		d.Problem = fmt.Sprintf("the upstream refused the credentials (%d %s)", a.status, http.StatusText(a.status))
		return fmt.Errorf("%w: %s", ErrUnauthorized, d.Problem)
	case a.forbidden:
		d.Problem = fmt.Sprintf("the upstream answered %d %s: not a member of org %q (or the path is wrong)", a.status, http.StatusText(a.status), d.Org)
		return fmt.Errorf("%w: %s", ErrForbidden, d.Problem)
	default:
		return nil
	}
	return fmt.Errorf("%w (%s): %s", ErrUnavailable, d.Reason, d.Problem)
}

// redactURL hides a password in the URL's user info: Diagnosis is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}
