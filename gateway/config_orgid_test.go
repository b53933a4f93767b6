package gateway_test

import (
	"strings"
	"testing"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/orgid"
)

// The flags of org IDs, namespaces, the memberships contract and readiness: defaults,
// environment twins, and the values they accept.
func TestParseConfigOrgFlags(t *testing.T) {
	c, err := gateway.ParseConfig([]string{"--upstream", "http://a"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.NamespacePrefix != "/org" || c.OrgIDFormat != orgid.Text || c.MembershipsList != "data" ||
		c.MembershipsOrg != "organization.id" || c.MembershipsRole != "" || c.ReadyzProbePath != "" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = gateway.ParseConfig([]string{"--upstream", "http://a"}, envOf(map[string]string{
		"SYNCGATE_NAMESPACE_PREFIX":  "/workspace",
		"SYNCGATE_ORG_ID_FORMAT":     "integer",
		"SYNCGATE_MEMBERSHIPS_PATH":  "/teams/{org}/me",
		"SYNCGATE_MEMBERSHIPS_LIST":  ".",
		"SYNCGATE_MEMBERSHIPS_ORG":   "workspace.slug",
		"SYNCGATE_MEMBERSHIPS_ROLE":  "access",
		"SYNCGATE_READYZ_PROBE_PATH": "/health?deep=0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.NamespacePrefix != "/workspace" || c.OrgIDFormat != orgid.Integer || c.MembershipsPath != "/teams/{org}/me" ||
		c.MembershipsList != "." || c.MembershipsOrg != "workspace.slug" || c.MembershipsRole != "access" || c.ReadyzProbePath != "/health?deep=0" {
		t.Fatalf("env twins: %+v", c)
	}
	c, err = gateway.ParseConfig([]string{"--upstream", "http://a", "--org-id-format", "text", "--namespace-prefix", "/a/b-c_d.e~f"},
		envOf(map[string]string{"SYNCGATE_ORG_ID_FORMAT": "integer"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.OrgIDFormat != orgid.Text || c.NamespacePrefix != "/a/b-c_d.e~f" {
		t.Fatalf("flags over env: %+v", c)
	}
}

// Each bad value is refused before anything listens, naming its flag.
func TestParseConfigOrgFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		flag, value string
	}{
		{"namespace-prefix", ""},
		{"namespace-prefix", "/"},
		{"namespace-prefix", "org"},
		{"namespace-prefix", "/org/"},
		{"namespace-prefix", "/org/{id}"},
		{"namespace-prefix", "/org//x"},
		{"namespace-prefix", "/o#rg"},
		{"namespace-prefix", "/o:rg"},
		{"namespace-prefix", "/o|rg"},
		{"namespace-prefix", "/org/.."},
		{"namespace-prefix", "/socket.io"},
		{"namespace-prefix", "/socket.io/org"},
		{"namespace-prefix", "/api"},
		{"namespace-prefix", "/api/org"},
		{"org-id-format", "uuid"},
		{"org-id-format", "Integer"},
		{"memberships-path", "users/me"},
		{"memberships-path", "/orgs/{org}/{org}"},
		{"memberships-path", "/orgs/{id}/me"},
		{"memberships-path", "/orgs/{org/me"},
		{"memberships-path", "/me?x=1"},
		{"memberships-list", ""},
		{"memberships-list", "data..items"},
		{"memberships-list", ".data"},
		{"memberships-org", ""},
		{"memberships-org", "organization."},
		{"memberships-role", "a..b"},
		{"readyz-probe-path", "health"},
		{"readyz-probe-path", "//evil.example/health"},
		{"readyz-probe-path", "/health#x"},
	} {
		args := []string{"--upstream", "http://a", "--" + tc.flag, tc.value}
		_, err := gateway.ParseConfig(args, noEnv)
		if err == nil {
			t.Errorf("--%s %q accepted", tc.flag, tc.value)
			continue
		}
		if !strings.Contains(err.Error(), "--"+tc.flag+":") {
			t.Errorf("--%s %q: error %q does not name the flag", tc.flag, tc.value, err)
		}
	}
	// The API prefix is what the namespace prefix must not clash with, whatever it is.
	if _, err := gateway.ParseConfig([]string{"--upstream", "http://a", "--api-prefix", "/team", "--namespace-prefix", "/team"}, noEnv); err == nil ||
		!strings.Contains(err.Error(), "--namespace-prefix:") {
		t.Errorf("--namespace-prefix equal to --api-prefix: %v", err)
	}
	for _, ok := range [][]string{
		{"--namespace-prefix", "/apis"}, // not under /api
		{"--namespace-prefix", "/team", "--api-prefix", "/v1"},
		{"--memberships-path", "/orgs/{org}/membership", "--memberships-role", "role"},
		{"--memberships-role", "member.role"},
	} {
		if _, err := gateway.ParseConfig(append([]string{"--upstream", "http://a"}, ok...), noEnv); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}
