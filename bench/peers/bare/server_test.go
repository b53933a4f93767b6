package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
)

func TestBareBroadcastReachesEverySocketOfTheOrgOnly(t *testing.T) {
	s := newServer(25 * time.Second)
	defer s.close()
	srv := httptest.NewServer(s.routes())
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 10 sockets over orgs 1 and 2: events to org 1 must reach its 5 sockets and no other.
	f := loadgen.NewFleet(loadgen.Config{Addr: addr, Sockets: 10, Orgs: 2}, 21)
	defer f.Close()
	if err := f.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	sender := &loadgen.Sender{Client: srv.Client(), BaseURL: "http://" + addr + "/api", Token: "user0", Org: 1, Inflight: 4}
	f.Begin(1, 20)
	res := sender.Run(ctx, f, 1, 20)
	if res.OK != 20 {
		t.Fatalf("sent %+v, want 20 OK", res)
	}
	if !f.Wait(ctx, 100, 2*time.Second) {
		t.Fatalf("only %d of 100 deliveries", f.Delivered())
	}
	st := f.Stats(map[int]int{1: 20, 2: 0})
	if st.Received != 100 || st.Lost != 0 || st.Dups != 0 {
		t.Fatalf("stats = %+v, want 100 received (org 1 only), none lost", st)
	}
}

func TestBareRefusesPollingAndBadPaths(t *testing.T) {
	s := newServer(25 * time.Second)
	defer s.close()
	srv := httptest.NewServer(s.routes())
	defer srv.Close()
	for _, c := range []struct{ method, path string }{
		{"GET", "/socket.io/?EIO=4&transport=polling"},
		{"PUT", "/api/orgs/1x/people/views/1/rows/1"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Errorf("%s %s: status %d, want 4xx", c.method, c.path, resp.StatusCode)
		}
	}
}

func TestTextFrameHeaderLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		f := textFrame(make([]byte, n))
		hdr := len(f) - n
		want := 2
		if n >= 126 {
			want = 4
		}
		if n > 65535 {
			want = 10
		}
		if hdr != want || f[0] != 0x81 {
			t.Errorf("payload %d: header %d bytes (first 0x%x), want %d bytes and 0x81", n, hdr, f[0], want)
		}
	}
}
