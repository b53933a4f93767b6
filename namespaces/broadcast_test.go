package namespaces

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// pollingClient is a Socket.IO client on HTTP long-polling that only polls when told to.
type pollingClient struct {
	t   *testing.T
	url string
	hc  *http.Client
}

func (s *sioServer) pollingClient(hc *http.Client) *pollingClient {
	s.t.Helper()
	p := &pollingClient{t: s.t, hc: hc}
	body := p.do(http.MethodGet, s.http.URL+"/socket.io/?EIO=4&transport=polling", "")
	var op struct{ SID string }
	if !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &op) != nil {
		s.t.Fatalf("polling handshake %q", body)
	}
	p.url = s.http.URL + "/socket.io/?EIO=4&transport=polling&sid=" + op.SID
	return p
}

func (p *pollingClient) do(method, url, body string) string {
	p.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		p.t.Fatalf("%s: %d %q %v", method, resp.StatusCode, b, err)
	}
	return string(b)
}

func (p *pollingClient) poll() string    { return p.do(http.MethodGet, p.url, "") }
func (p *pollingClient) post(msg string) { p.do(http.MethodPost, p.url, msg) }

// TestBroadcastToManyEncodesOnce: a broadcast costs the same encoding whatever the number of
// receivers; every receiver gets the same bytes.
func TestBroadcastToManyEncodesOnce(t *testing.T) {
	const receivers = 100
	s := startSIO(t, Handler{Match: orgs})
	tr := &http.Transport{MaxIdleConnsPerHost: receivers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: waitLimit}
	clients := make([]*pollingClient, receivers)
	for i := range clients {
		clients[i] = s.pollingClient(hc)
		clients[i].post("40/org/1,")
		if got := clients[i].poll(); !strings.HasPrefix(got, `40/org/1,{"sid":`) {
			t.Fatalf("client %d: CONNECT answer %q", i, got)
		}
	}
	// The CONNECT answer is queued just before the socket joins its namespace.
	eventually(t, "every socket joined", func() bool {
		ns := s.srv.Namespace("/org/1")
		return ns != nil && ns.Len() == receivers
	})
	// Nobody polls from here on: the packets stay queued, so only delivery is measured.
	const runs = 20
	var delivered int
	allocs := testing.AllocsPerRun(runs, func() {
		delivered = s.srv.DeliverLocal(&Broadcast{Nsp: "/org/1", Event: "row.added", Args: []any{map[string]any{"viewId": 2, "personId": 3}}})
	})
	if delivered != receivers {
		t.Fatalf("delivered to %d sockets, want %d", delivered, receivers)
	}
	// Encoding costs a handful of allocations; doing it per receiver would cost hundreds.
	// What remains per receiver is the amortised growth of its queue.
	if allocs >= receivers {
		t.Fatalf("%.0f allocations per broadcast to %d sockets: the packet is encoded per socket", allocs, receivers)
	}
	first := clients[0].poll()
	want := strings.Repeat(`42/org/1,["row.added",{"personId":3,"viewId":2}]`+"\x1e", runs+1)
	if first != want[:len(want)-1] {
		t.Fatalf("client 0 got %q", first)
	}
	for i, c := range clients[1:] {
		if got := c.poll(); got != first {
			t.Fatalf("client %d got different bytes: %q", i+1, got)
		}
	}
	t.Logf("%.1f allocations per broadcast to %d sockets", allocs, receivers)
}
