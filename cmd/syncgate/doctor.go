package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/orgid"
)

// doctorMaxRows bounds the memberships table; a user in thousands of orgs gets a summary.
const doctorMaxRows = 50

// doctorConfig is what `syncgate doctor` checks: the gateway's memberships settings and one
// caller's credentials.
type doctorConfig struct {
	members auth.MembershipsConfig
	cred    auth.Credentials
	org     string
	perOrg  bool
}

// runDoctor: syncgate doctor --upstream URL [--memberships-path P] [--memberships-list L]
// [--memberships-org O] [--memberships-role R] [--member-roles r1,r2] [--org-id-format F]
// (--token T | --cookie C | --authorization "Bearer …") [--org X]
//
// It calls the memberships endpoint once with the given credentials, as the gateway would,
// and prints which orgs and roles it understood and which would admit a socket, or exactly
// what is wrong. It returns nil when the answer fits the contract.
func runDoctor(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseDoctorFlags(args, stderr)
	if err != nil {
		return err
	}
	describeDoctorConfig(stdout, cfg)
	d, err := auth.Diagnose(context.Background(), cfg.members, cfg.cred, cfg.org)
	if d.URL == "" { // no call was made: a configuration problem
		return fmt.Errorf("doctor: %w", err)
	}
	fmt.Fprintf(stdout, "GET %s → %s\n", d.URL, statusLine(d.Status))
	switch {
	case err == nil && d.PerOrg:
		printPerOrg(stdout, d, cfg.members.RolePath != "")
	case err == nil:
		printList(stdout, d, cfg.org)
	default:
		return doctorFailure(d, err)
	}
	fmt.Fprintln(stdout, "ok: the answer fits the memberships contract")
	return nil
}

func parseDoctorFlags(args []string, stderr io.Writer) (doctorConfig, error) {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upstream := fs.String("upstream", envOr("SYNCGATE_UPSTREAM", ""), "base URL of the upstream API (required; default $SYNCGATE_UPSTREAM)")
	path := fs.String("memberships-path", envOr("SYNCGATE_MEMBERSHIPS_PATH", "/users/me/memberships"), "memberships endpoint, relative to --upstream; with {org}: per-org mode")
	list := fs.String("memberships-list", envOr("SYNCGATE_MEMBERSHIPS_LIST", auth.DefaultListPath), `list mode: dotted path to the array of memberships; "." = the answer is the array`)
	org := fs.String("memberships-org", envOr("SYNCGATE_MEMBERSHIPS_ORG", auth.DefaultOrgPath), "list mode: dotted path to the org ID inside one membership")
	role := fs.String("memberships-role", envOr("SYNCGATE_MEMBERSHIPS_ROLE", ""), `dotted path to the role; empty: "`+auth.DefaultRolePath+`" in list mode, no role check in per-org mode`)
	roles := fs.String("member-roles", envOr("SYNCGATE_MEMBER_ROLES", ""), `comma-separated roles that admit a socket; empty: any non-null role; "*": any`)
	format := fs.String("org-id-format", envOr("SYNCGATE_ORG_ID_FORMAT", "text"), "org ID format of the upstream: text or integer")
	token := fs.String("token", "", "bearer token to call the endpoint with (sent as Authorization: Bearer T)")
	cookie := fs.String("cookie", "", "Cookie header to call the endpoint with")
	authorization := fs.String("authorization", "", "Authorization header to call the endpoint with")
	tryOrg := fs.String("org", "", "org to try (required in per-org mode; in list mode, report on it)")
	if err := fs.Parse(args); err != nil {
		return doctorConfig{}, err
	}
	if fs.NArg() != 0 {
		return doctorConfig{}, fmt.Errorf("doctor: unexpected argument %q", fs.Arg(0))
	}
	ids, err := orgid.ParseFormat(*format)
	if err != nil {
		return doctorConfig{}, fmt.Errorf("doctor: --org-id-format: %w", err)
	}
	cfg := doctorConfig{
		members: auth.MembershipsConfig{
			URL:      strings.TrimSuffix(*upstream, "/") + *path,
			Roles:    splitRoles(*roles),
			ListPath: *list, OrgPath: *org, RolePath: *role,
			IDs: ids,
		},
		org:    *tryOrg,
		perOrg: strings.Contains(*path, auth.OrgPlaceholder),
	}
	switch {
	case *upstream == "":
		return cfg, errors.New("doctor: --upstream URL is required")
	case !strings.HasPrefix(*path, "/"):
		return cfg, fmt.Errorf("doctor: --memberships-path must start with / (got %q)", *path)
	case *token != "" && *authorization != "":
		return cfg, errors.New("doctor: give --token or --authorization, not both")
	case *token == "" && *authorization == "" && *cookie == "":
		return cfg, errors.New("doctor: credentials are required: --token T, --cookie C or --authorization VALUE")
	case cfg.perOrg && cfg.org == "":
		return cfg, fmt.Errorf("doctor: per-org mode (--memberships-path has %s): --org X is required, an org the user belongs to", auth.OrgPlaceholder)
	case cfg.perOrg && (*list != auth.DefaultListPath || *org != auth.DefaultOrgPath):
		return cfg, fmt.Errorf("doctor: per-org mode (--memberships-path has %s): --memberships-list and --memberships-org apply to list mode only", auth.OrgPlaceholder)
	case cfg.perOrg && *role == "" && len(cfg.members.Roles) > 0 && *roles != "*":
		return cfg, errors.New(`doctor: per-org mode without --memberships-role reads no role: --member-roles can only be empty or "*"`)
	}
	cfg.cred = auth.Credentials{Cookie: *cookie, Authorization: *authorization}
	if *token != "" {
		cfg.cred.Authorization = "Bearer " + *token
	}
	return cfg, nil
}

func splitRoles(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// describeDoctorConfig prints the contract being checked, with the defaults applied.
func describeDoctorConfig(w io.Writer, cfg doctorConfig) {
	m := cfg.members
	if cfg.perOrg {
		role := "not read (every 2xx admits)"
		if m.RolePath != "" {
			role = fmt.Sprintf("read at %q", m.RolePath)
		}
		fmt.Fprintf(w, "per-org mode: one call per org; role %s; org IDs: %s\n", role, m.IDs)
	} else {
		fmt.Fprintf(w, "list mode: memberships at %q, org ID at %q, role at %q; org IDs: %s\n",
			orDefault(m.ListPath, auth.DefaultListPath), orDefault(m.OrgPath, auth.DefaultOrgPath),
			orDefault(m.RolePath, auth.DefaultRolePath), m.IDs)
	}
	fmt.Fprintf(w, "--member-roles: %s\n", describeRoles(m.Roles))
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func describeRoles(roles []string) string {
	switch {
	case len(roles) == 0:
		return "any non-null role admits (followers, with no role, are refused)"
	case len(roles) == 1 && roles[0] == "*":
		return `"*": any membership admits, followers included`
	}
	return "one of " + strings.Join(roles, ", ") + " admits"
}

func statusLine(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

func printList(w io.Writer, d auth.Diagnosis, org string) {
	fmt.Fprintf(w, "%d %s understood:\n", len(d.Memberships), plural(len(d.Memberships), "membership"))
	admitted := 0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ORG\tROLE\tSOCKET")
	for i, ms := range d.Memberships {
		if ms.Allowed {
			admitted++
		}
		if i < doctorMaxRows {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", ms.Org, roleText(ms.Role), admitsText(ms))
		}
	}
	_ = tw.Flush()
	if n := len(d.Memberships) - doctorMaxRows; n > 0 {
		fmt.Fprintf(w, "  … and %d more\n", n)
	}
	fmt.Fprintf(w, "%d of %d %s would admit a socket\n", admitted, len(d.Memberships), plural(len(d.Memberships), "org"))
	if len(d.Memberships) == 0 {
		fmt.Fprintln(w, "note: the list is empty, so the org and role paths could not be checked; try a user with memberships")
	}
	if org != "" {
		fmt.Fprintf(w, "org %s: %s\n", org, listVerdict(d.Memberships, org))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func listVerdict(ms []auth.Membership, org string) string {
	member := false
	for _, m := range ms {
		if m.Org == org {
			if m.Allowed {
				return "admitted"
			}
			member = true
		}
	}
	if member {
		return "refused (forbidden): the role does not admit a socket"
	}
	return "refused (forbidden): not a member (org IDs are compared by exact text)"
}

func printPerOrg(w io.Writer, d auth.Diagnosis, readsRole bool) {
	ms := d.Memberships[0]
	role := ""
	if readsRole {
		role = ", role " + roleText(ms.Role)
	}
	fmt.Fprintf(w, "member of org %s%s: %s\n", d.Org, role, admitsText(ms))
}

func roleText(role *string) string {
	if role == nil {
		return "(no role)"
	}
	return fmt.Sprintf("%q", *role) // quoted: an upstream string never drives the terminal
}

func admitsText(ms auth.Membership) string {
	switch {
	case ms.Allowed:
		return "admitted"
	case ms.Role == nil:
		return `refused (forbidden): no role, a follower (--member-roles "*" admits followers)`
	}
	return "refused (forbidden): role not in --member-roles"
}

// doctorFailure returns what went wrong as the command's error (main prints it).
func doctorFailure(d auth.Diagnosis, err error) error {
	switch {
	case errors.Is(err, auth.ErrUnauthorized):
		return fmt.Errorf("doctor: %s: check --token, --cookie or --authorization", d.Problem)
	case errors.Is(err, auth.ErrForbidden):
		return fmt.Errorf("doctor: %s; try --org with an org the user belongs to, or check --memberships-path", d.Problem)
	case d.Reason == "contract":
		return fmt.Errorf("doctor: the answer does not fit the memberships contract: %s", d.Problem)
	case d.Reason == "unreachable":
		return fmt.Errorf("doctor: memberships endpoint unreachable: %s", d.Problem)
	case d.Reason == "bad_body":
		return fmt.Errorf("doctor: the answer is not one JSON value of at most 1 MiB: %s", d.Problem)
	}
	return fmt.Errorf("doctor: %s", d.Problem)
}
