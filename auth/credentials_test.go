package auth

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestCredentialsFromHeader(t *testing.T) {
	h := http.Header{"Cookie": {"a=1", "b=2"}, "Authorization": {"Bearer hdr"}, "X-Other": {"x"}}
	c := CredentialsFromHeader(h, "")
	if c.Cookie != "a=1; b=2" || c.Authorization != "Bearer hdr" {
		t.Fatalf("got %#v fields %q %q", c, c.Cookie, c.Authorization)
	}
	c = CredentialsFromHeader(h, "tok")
	if c.Authorization != "Bearer tok" || c.Cookie != "a=1; b=2" {
		t.Fatalf("auth.token must override Authorization: %q", c.Authorization)
	}
	if c.Empty() {
		t.Fatal("non-empty credentials reported Empty")
	}
	if !CredentialsFromHeader(http.Header{"X-Other": {"x"}}, "").Empty() {
		t.Fatal("no Cookie/Authorization must be Empty")
	}
}

// Without a field separator, moving bytes between fields would collide keys
// and serve one user's cached memberships to another.
func TestCredentialsKey_FieldBoundaryCollision(t *testing.T) {
	keys := map[Key]string{}
	for _, c := range []Credentials{
		{Cookie: "ab", Authorization: ""},
		{Cookie: "a", Authorization: "b"},
		{Cookie: "", Authorization: "ab"},
		{Cookie: "ab", Authorization: "c"},
	} {
		k := c.Key()
		if prev, ok := keys[k]; ok {
			t.Fatalf("key collision between %s and %q/%q", prev, c.Cookie, c.Authorization)
		}
		keys[k] = c.Cookie + "|" + c.Authorization
	}
	if (Credentials{Cookie: "x"}).Key() != (Credentials{Cookie: "x"}).Key() {
		t.Fatal("key not deterministic")
	}
}

func TestCredentials_RedactedEverywhere(t *testing.T) {
	const secret = "s3cr3t"
	c := Credentials{Cookie: "zsid=" + secret, Authorization: "Bearer " + secret}
	type wrapper struct{ C Credentials }
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "cred", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "cred", c)
	outs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%s", c), fmt.Sprintf("%v", wrapper{c}), fmt.Sprintf("%+v", &wrapper{c}),
		logs.String(),
	}
	for _, out := range outs {
		if strings.Contains(out, secret) {
			t.Errorf("credentials leaked: %s", out)
		}
	}
	if !strings.Contains(outs[0], "<redacted>") || !strings.Contains(logs.String(), "<redacted>") {
		t.Errorf("redaction marker missing: %s / %s", outs[0], logs.String())
	}
}
