package demo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/syncgate/syncgate/demo"
)

// Person IDs of the seed data: org 1 holds 1..8, org 2 holds 9..16.
const (
	aliceInOrg1  = 1
	homerInOrg1  = 4
	apuInOrg1    = 8
	joeInOrg2    = 11
	seededPeople = 16
)

// apiClient talks to a real API server on loopback as one demo user.
type apiClient struct {
	t    *testing.T
	base string // server URL plus the API prefix
	user string // sent as "Authorization: Bearer <user>" unless empty
}

func startAPI(t *testing.T, opts ...demo.Option) string {
	t.Helper()
	srv := httptest.NewServer(demo.NewAPI(opts...))
	t.Cleanup(srv.Close)
	return srv.URL
}

func newClient(t *testing.T, user string) apiClient {
	return apiClient{t: t, base: startAPI(t) + "/v1", user: user}
}

func (c apiClient) as(user string) apiClient {
	c.user = user
	return c
}

// do sends a request; a non-nil body is sent as JSON. It returns the status and the body.
func (c apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	return c.raw(method, path, "application/json", rd)
}

func (c apiClient) raw(method, path, contentType string, body io.Reader) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	if c.user != "" {
		req.Header.Set("Authorization", "Bearer "+c.user)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return res.StatusCode, b
}

// data sends a request, expects want and decodes the "data" of the envelope into out.
func (c apiClient) data(method, path string, body any, want int, out any) {
	c.t.Helper()
	status, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s as %q: status %d, want %d; body %s", method, path, c.user, status, want, b)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Data == nil {
		c.t.Fatalf("%s %s: body %s is no {\"data\": ...} envelope (%v)", method, path, b, err)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			c.t.Fatalf("%s %s: decode data %s: %v", method, path, env.Data, err)
		}
	}
}

// expectError sends a request and expects status with body {"error": msg}.
func (c apiClient) expectError(method, path string, body any, status int, msg string) {
	c.t.Helper()
	got, b := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s as %q: status %d, want %d; body %s", method, path, c.user, got, status, b)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || (msg != "" && e.Error != msg) {
		c.t.Fatalf("%s %s: body %s, want {\"error\":%q}", method, path, b, msg)
	}
}

type row struct {
	ID      int64    `json:"id"`
	Content []string `json:"content"`
}

type person struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

func (c apiClient) rowIDs(org, view string) []int64 {
	c.t.Helper()
	var rows []row
	c.data("GET", "/orgs/"+org+"/people/views/"+view+"/rows", nil, http.StatusOK, &rows)
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

func (c apiClient) people(org string) []person {
	c.t.Helper()
	var people []person
	c.data("GET", "/orgs/"+org+"/people", nil, http.StatusOK, &people)
	return people
}
