package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProxyMapsAPIPathsOntoTheUpstreamBase(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	}))
	defer up.Close()
	h, err := handler(up.URL + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/orgs/1/people/views/2/rows/3", nil)
	req.Header.Set("Authorization", "Bearer user0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(b), "PUT /v1/orgs/1/people/views/2/rows/3 Bearer user0"; got != want {
		t.Fatalf("upstream saw %q, want %q", got, want)
	}
}
