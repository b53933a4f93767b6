package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/orgid"
)

// checkAll checks orgs for one credential and compares with want (nil = admitted).
func checkAll(t *testing.T, m *Memberships, c Credentials, want map[string]error) {
	t.Helper()
	for org, w := range want {
		if err := m.Check(context.Background(), c, org); err != w {
			t.Errorf("org %q: %v, want %v", org, err, w)
		}
	}
}

func TestListMode_CustomPaths(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", `{"items":[{"team":{"slug":"acme"},"access":"owner"},`+
		`{"team":{"slug":"beta"},"access":"viewer"},{"team":{"slug":"gamma"},"access":null},{"team":{"slug":"delta"}}]}`)
	paths := MembershipsConfig{ListPath: "items", OrgPath: "team.slug", RolePath: "access"}
	for _, c := range []struct {
		roles []string
		want  map[string]error
	}{
		{[]string{"owner"}, map[string]error{"acme": nil, "beta": ErrForbidden, "gamma": ErrForbidden, "delta": ErrForbidden, "other": ErrForbidden}},
		{nil, map[string]error{"acme": nil, "beta": nil, "gamma": ErrForbidden, "delta": ErrForbidden}},
		{[]string{"*"}, map[string]error{"acme": nil, "beta": nil, "gamma": nil, "delta": nil, "other": ErrForbidden}},
	} {
		t.Run(fmt.Sprint(c.roles), func(t *testing.T) {
			cfg := paths
			cfg.Roles = c.roles
			m := newTestMemberships(t, u, cfg)
			checkAll(t, m, bearer("t"), c.want)
			if s := m.Stats(); s.UpstreamCalls != 1 {
				t.Fatalf("upstream calls = %d, want 1 for every org of one credential", s.UpstreamCalls)
			}
		})
	}
}

func TestListMode_BodyIsTheArray(t *testing.T) {
	const uuid = "3f6c1a52-9a0e-4c1e-8f36-2b0d4c9e1a77"
	u := newFakeUpstream(t)
	u.set("Bearer objects", `[{"org":"`+uuid+`","role":"member"},{"org":12,"role":"member"}]`)
	u.set("Bearer ids", `["acme", 7]`)
	m := newTestMemberships(t, u, MembershipsConfig{ListPath: ".", OrgPath: "org"})
	checkAll(t, m, bearer("objects"), map[string]error{uuid: nil, "12": nil, "3f6c1a52": ErrForbidden, "012": ErrForbidden})
	// A bare list of IDs: OrgPath "." is the item itself; such items carry no role, so only
	// "*" admits them.
	bare := newTestMemberships(t, u, MembershipsConfig{ListPath: ".", OrgPath: ".", Roles: []string{"*"}})
	checkAll(t, bare, bearer("ids"), map[string]error{"acme": nil, "7": nil, "8": ErrForbidden})
	strict := newTestMemberships(t, u, MembershipsConfig{ListPath: ".", OrgPath: "."})
	checkAll(t, strict, bearer("ids"), map[string]error{"acme": ErrForbidden})
}

// Text format: a JSON string and a JSON integer are both IDs, compared by text.
func TestListMode_StringAndIntegerIDsComparedByText(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(`{"organization":{"id":"7"},"role":"a"}`, `{"organization":{"id":8},"role":"a"}`,
		`{"organization":{"id":"007"},"role":"a"}`))
	m := newTestMemberships(t, u, MembershipsConfig{})
	checkAll(t, m, bearer("t"), map[string]error{"7": nil, "8": nil, "007": nil, "07": ErrForbidden, "08": ErrForbidden, "9": ErrForbidden})
}

// Integer format: memberships must carry JSON integers; a string ID is a contract problem
// (this is the strictness every default check had before the text format existed).
func TestListMode_IntegerFormatRefusesStrings(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer ints", memberships(member(7, "admin")))
	u.set("Bearer strings", memberships(`{"organization":{"id":"7"},"role":"admin"}`))
	m := newTestMemberships(t, u, MembershipsConfig{IDs: orgid.Integer})
	checkAll(t, m, bearer("ints"), map[string]error{"7": nil, "07": ErrForbidden, "acme": ErrForbidden})
	if err := m.Check(context.Background(), bearer("strings"), "7"); err != ErrUnavailable {
		t.Fatalf("string ID in integer format: %v, want ErrUnavailable", err)
	}
	p := m.Contract()
	if !strings.Contains(p.Problem, `expected "data" to be an array of objects with "organization.id" an integer`) ||
		!strings.Contains(p.Problem, `item 0: "organization.id" is a string, but org IDs are integers`) {
		t.Fatalf("contract problem %q", p.Problem)
	}
	if n := m.Stats().Errors["contract"]; n != 1 {
		t.Fatalf("contract errors = %d, want 1", n)
	}
}

// fakeClock is the contract state's clock in tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func countLines(logs, level, msg string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"`+level+`"`) && strings.Contains(line, msg) {
			n++
		}
	}
	return n
}

const contractMsg = "does not fit the configured contract"

func TestContract_WarnsOncePerMinuteAndClearsOnAFittingAnswer(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	var logs syncBuffer
	m := newTestMemberships(t, u, MembershipsConfig{Logger: testLogger(&logs)})
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	m.broken.now = clock.Now
	if p := m.Contract(); p != (ContractProblem{}) {
		t.Fatalf("contract problem before any answer: %+v", p)
	}

	u.setBody(`{"items":[{"org":{"id":"x"},"role":"admin"}]}`)
	for range 5 {
		if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
			t.Fatalf("bad answer: %v, want ErrUnavailable", err)
		}
	}
	const want = `expected "data" to be an array of objects with "organization.id" a string or integer and "role" a string or null; ` +
		`got {"items": [ {"org": {"id": string}, "role": string} ]} ("data" is missing)`
	if p := m.Contract(); p.Problem != want || !p.At.Equal(clock.Now()) {
		t.Fatalf("Contract() = %+v, want %q at %v", p, want, clock.Now())
	}
	if n := countLines(logs.String(), "WARN", contractMsg); n != 1 {
		t.Fatalf("%d warnings for 5 bad answers within a minute, want 1:\n%s", n, logs.String())
	}
	if n := countLines(logs.String(), "DEBUG", contractMsg); n != 4 {
		t.Fatalf("%d debug records for the 4 repeats, want 4", n)
	}
	if !strings.Contains(logs.String(), `"problem":`+mustJSON(want)) {
		t.Fatalf("the warning does not carry the problem:\n%s", logs.String())
	}

	clock.advance(59 * time.Second)
	_ = m.Check(context.Background(), bearer("t"), "1")
	if n := countLines(logs.String(), "WARN", contractMsg); n != 1 {
		t.Fatalf("warned again after 59s: %d warnings", n)
	}
	clock.advance(time.Second)
	_ = m.Check(context.Background(), bearer("t"), "1")
	if n := countLines(logs.String(), "WARN", contractMsg); n != 2 {
		t.Fatalf("%d warnings a minute after the first, want 2", n)
	}

	u.setBody("") // the right answer again
	if err := m.Check(context.Background(), bearer("t"), "1"); err != nil {
		t.Fatalf("fitting answer: %v", err)
	}
	if p := m.Contract(); p != (ContractProblem{}) {
		t.Fatalf("Contract() after a fitting answer = %+v, want zero", p)
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Only definite answers clear a contract problem: a 401 says nothing about the shape.
func TestContract_RefusalDoesNotClearIt(t *testing.T) {
	u := newFakeUpstream(t)
	m := newTestMemberships(t, u, MembershipsConfig{})
	u.setBody(`{"data":{}}`)
	_ = m.Check(context.Background(), bearer("t"), "1")
	u.setBody("")
	if err := m.Check(context.Background(), bearer("unknown"), "1"); err != ErrUnauthorized {
		t.Fatalf("unknown token: %v", err)
	}
	if p := m.Contract(); !strings.Contains(p.Problem, `got {"data": {}} ("data" is an object)`) {
		t.Fatalf("Contract() after a 401 = %+v", p)
	}
}

func TestStats_ErrorsByReason(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{Timeout: 200 * time.Millisecond})
	zero := map[string]uint64{"unreachable": 0, "status": 0, "bad_body": 0, "contract": 0}
	if got := m.Stats().Errors; fmt.Sprint(got) != fmt.Sprint(zero) {
		t.Fatalf("Errors before any call = %v, want every reason at 0", got)
	}
	if len(ErrorReasons) != len(m.stats.byReason) {
		t.Fatalf("ErrorReasons has %d reasons, the counters %d", len(ErrorReasons), len(m.stats.byReason))
	}
	steps := []func(){
		func() { u.setHang(true) },                                         // unreachable: timeout
		func() { u.setHang(false); u.setStatus(http.StatusBadGateway) },    // status
		func() { u.setStatus(http.StatusFound) },                           // status
		func() { u.setStatus(0); u.setBody("<html>login</html>") },         // bad_body
		func() { u.setBody(`{"data":[]} {"data":[]}`) },                    // bad_body
		func() { u.setBody(strings.Repeat(" ", maxBody) + `{"data":[]}`) }, // bad_body: too large
		func() { u.setBody(`{"data":[{"organization":{"id":1.5}}]}`) },     // contract
	}
	for _, step := range steps {
		step()
		if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	}
	u.setBody("")
	_ = m.Check(context.Background(), bearer("unknown"), "1") // 401: a definite answer
	_ = m.Check(context.Background(), bearer("t"), "1")       // fits
	want := map[string]uint64{"unreachable": 1, "status": 2, "bad_body": 3, "contract": 1}
	if got := m.Stats().Errors; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Errors = %v, want %v", got, want)
	}
	srv := newFakeUpstream(t)
	down := newTestMemberships(t, nil, MembershipsConfig{URL: srv.URL()})
	srv.srv.Close()
	_ = down.Check(context.Background(), bearer("t"), "1")
	if n := down.Stats().Errors["unreachable"]; n != 1 {
		t.Fatalf("refused connection: unreachable = %d, want 1", n)
	}
}

// No value of a bad answer may reach the logs or Contract(): only keys and JSON types.
func TestContract_NeverShowsValues(t *testing.T) {
	const secret = "s3cr3t"
	u := newFakeUpstream(t)
	var logs syncBuffer
	m := newTestMemberships(t, u, MembershipsConfig{Logger: testLogger(&logs)})
	for _, body := range []string{
		`{"data":[{"organization":{"id":1},"role":"admin","email":"` + secret + `@example.com"},{"organization":{"id":"` + secret + `/x"},"role":"admin"}]}`,
		`{"data":[{"organization":{"id":9876543210.5},"role":"` + secret + `"}]}`,
		`{"data":[{"organization":{"id":1},"role":{"name":"` + secret + `"}}]}`,
		`{"` + secret + `@example.com":{"` + secret + `-token-with-a-long-name-over-32-bytes":1},"data":"` + secret + `"}`,
	} {
		u.setBody(body)
		if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
			t.Fatalf("%s: %v, want ErrUnavailable", body, err)
		}
		p := m.Contract().Problem
		if p == "" || strings.Contains(p, secret) || strings.Contains(p, "9876543210") {
			t.Fatalf("Contract() = %q for %s", p, body)
		}
		t.Log(p)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("logs contain a value of the answer:\n%s", logs.String())
	}
	if p := m.Contract().Problem; !strings.Contains(p, `got {"data": string, <key>: {<key>: integer}}`) {
		t.Fatalf("data-like keys are not masked: %q", p)
	}
}

// A hostile 2xx answer (deep, wide) costs a bounded description.
func TestContract_HostileBodiesHaveBoundedDescriptions(t *testing.T) {
	wide := make(map[string]int, 40_000)
	for i := range 40_000 {
		wide[fmt.Sprintf("key%06d", i)] = i
	}
	wideBody, _ := json.Marshal(map[string]any{"data": wide})
	for name, body := range map[string]string{
		"deep arrays":  `{"data":[{"organization":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}]}`,
		"deep objects": strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000),
		"wide":         string(wideBody),
		"long keys":    `{"` + strings.Repeat("k", 500_000) + `":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			u := newFakeUpstream(t)
			var logs syncBuffer
			m := newTestMemberships(t, u, MembershipsConfig{Logger: testLogger(&logs)})
			u.setBody(body)
			if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			p := m.Contract().Problem
			if p == "" || len(p) > 1000 {
				t.Fatalf("problem of %d bytes: %.300q", len(p), p)
			}
			if len(logs.String()) > 2000 {
				t.Fatalf("log of %d bytes", len(logs.String()))
			}
			t.Log(p)
		})
	}
}
