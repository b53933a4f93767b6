package triggers

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const deliverySrc = `triggers:
  - event: person.updated
    method: PATCH
    path: /orgs/{orgId}/people/{personId}
    coalesce: 200ms
    version_from: data.updated_at
    meta: [request_id, etag]
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
`

func TestDeliveryKeysOnEvent(t *testing.T) {
	set, err := Parse("t.yaml", []byte(deliverySrc))
	if err != nil {
		t.Fatal(err)
	}
	if !set.NeedsBody("PATCH", "/orgs/1/people/3") {
		t.Fatal("NeedsBody = false for a version_from trigger")
	}
	req := http.Header{"X-Request-Id": {"req-42"}}
	resp := http.Header{"Etag": {`W/"v7"`}}
	body := []byte(`{"data":{"id":3,"updated_at":"2024-05-01T12:00:00.5+02:00"}}`)
	evs := set.MatchResponse("PATCH", "/orgs/1/people/3", req, resp, body)
	if len(evs) != 1 {
		t.Fatalf("events = %v", evs)
	}
	ev := evs[0]
	if ev.Coalesce != 200*time.Millisecond {
		t.Errorf("Coalesce = %v", ev.Coalesce)
	}
	if ev.Version != "2024-05-01T12:00:00.5+02:00" || ev.RequestID != "req-42" || ev.ETag != `W/"v7"` {
		t.Errorf("meta fields = %q %q %q", ev.Version, ev.RequestID, ev.ETag)
	}
	want := map[string]any{"personId": int64(3), MetaKey: map[string]any{
		MetaVersion: "2024-05-01T12:00:00.5+02:00", MetaRequestID: "req-42", MetaETag: `W/"v7"`}}
	if !reflect.DeepEqual(ev.Data, want) {
		t.Errorf("Data = %#v, want %#v", ev.Data, want)
	}
	// Match has no response header: no etag, the rest unchanged.
	ev = set.Match("PATCH", "/orgs/1/people/3", req, body)[0]
	if ev.ETag != "" || ev.Data[MetaKey].(map[string]any)[MetaETag] != nil {
		t.Errorf("Match gave an etag: %#v", ev.Data)
	}
}

func TestDeliveryDefaultsAreIDsOnly(t *testing.T) {
	set, err := Parse("t.yaml", []byte(deliverySrc))
	if err != nil {
		t.Fatal(err)
	}
	req := http.Header{"X-Request-Id": {"req-42"}}
	ev := set.MatchResponse("PUT", "/orgs/1/people/views/2/rows/3", req, http.Header{"Etag": {`"x"`}}, nil)[0]
	want := map[string]any{"viewId": int64(2), "personId": int64(3)}
	if !reflect.DeepEqual(ev.Data, want) || ev.Coalesce != 0 || ev.Version != "" || ev.RequestID != "" || ev.ETag != "" {
		t.Errorf("event of a plain trigger = %#v", ev)
	}
	if set.NeedsBody("PUT", "/orgs/1/people/views/2/rows/3") {
		t.Error("NeedsBody = true for a plain trigger")
	}
}

// Metadata that is missing or not of its shape is left out; the event still fires.
func TestDeliveryBadMetaLeftOut(t *testing.T) {
	set, err := Parse("t.yaml", []byte(deliverySrc))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		req, resp http.Header
		body      string
		want      map[string]any // Data[MetaKey], nil: absent
	}{
		{"nothing", nil, nil, ``, nil},
		{"integer version", nil, nil, `{"data":{"updated_at":1714567890}}`, map[string]any{MetaVersion: "1714567890"}},
		{"version with a space", nil, nil, `{"data":{"updated_at":"2024-05-01 12:00"}}`, nil},
		{"version too long", nil, nil, `{"data":{"updated_at":"` + strings.Repeat("a", 65) + `"}}`, nil},
		{"version an object", nil, nil, `{"data":{"updated_at":{"a":1}}}`, nil},
		{"negative version", nil, nil, `{"data":{"updated_at":-3}}`, nil},
		{"fraction version", nil, nil, `{"data":{"updated_at":1.5}}`, nil},
		{"bad request ID", http.Header{"X-Request-Id": {"a b"}}, nil, ``, nil},
		{"unquoted etag", nil, http.Header{"Etag": {"v7"}}, ``, nil},
		{"etag with a quote inside", nil, http.Header{"Etag": {`"a"b"`}}, ``, nil},
		{"strong etag", nil, http.Header{"Etag": {`"abc"`}}, ``, map[string]any{MetaETag: `"abc"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := set.MatchResponse("PATCH", "/orgs/1/people/3", tc.req, tc.resp, []byte(tc.body))
			if len(evs) != 1 || evs[0].Incomplete {
				t.Fatalf("events = %#v, want one complete event", evs)
			}
			got, has := evs[0].Data[MetaKey]
			if tc.want == nil {
				if has {
					t.Errorf("Data[%s] = %#v, want absent", MetaKey, got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Data[%s] = %#v, want %#v", MetaKey, got, tc.want)
			}
		})
	}
}

func TestDeliveryProblems(t *testing.T) {
	head := "triggers:\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}/x/{xId}\n"
	cases := []struct{ name, extra, want string }{
		{"coalesce without unit", "    coalesce: 200\n", `5: coalesce: "200" must be a duration from 10ms to 10s`},
		{"coalesce too short", "    coalesce: 1ms\n", `5: coalesce: "1ms" must be a duration`},
		{"coalesce too long", "    coalesce: 1m\n", `5: coalesce: "1m" must be a duration`},
		{"coalesce a list", "    coalesce: [1s]\n", `5: coalesce must be a single value`},
		{"version_from bad path", "    version_from: data..v\n", `5: version_from: bad path "data..v"`},
		{"meta not a list", "    meta: etag\n", `5: meta must be a list of request_id, etag`},
		{"meta unknown item", "    meta: [etag, body]\n", `5: meta: unknown item "body"`},
		{"meta key clash", "    meta: [etag]\n    from_response: {_meta: data.id}\n", `2: payload key "_meta" is reserved`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(head+tc.extra))
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) != 1 {
				t.Fatalf("Parse: %v, want exactly one problem", err)
			}
			line, msg, _ := strings.Cut(tc.want, ": ")
			got := e.Problems[0].Error()
			if !strings.HasPrefix(got, "t.yaml:"+line+": ") || !strings.Contains(got, msg) {
				t.Errorf("problem = %q, want line %s containing %q", got, line, msg)
			}
		})
	}
	// Without metadata, _meta is an ordinary placeholder name, as before.
	if _, err := Parse("t.yaml", []byte("triggers:\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}/x/{_meta}\n")); err != nil {
		t.Errorf("a {_meta} placeholder without metadata: %v", err)
	}
}

func TestDeliveryListed(t *testing.T) {
	set, err := Parse("t.yaml", []byte(deliverySrc))
	if err != nil {
		t.Fatal(err)
	}
	ts := set.Triggers()
	if ts[0].Coalesce != 200*time.Millisecond || ts[0].VersionFrom != "data.updated_at" || !reflect.DeepEqual(ts[0].Meta, []string{"request_id", "etag"}) {
		t.Errorf("listed = %#v", ts[0])
	}
	if ts[1].Coalesce != 0 || ts[1].VersionFrom != "" || ts[1].Meta != nil {
		t.Errorf("plain trigger listed = %#v", ts[1])
	}
}
