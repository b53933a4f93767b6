package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Sender drives mutations through the server's HTTP API at a fixed rate: one
// PUT /orgs/{org}/people/views/{view}/rows/{seq} per event, whose personId is the event's
// sequence number, so each delivery can be matched to its send time.
type Sender struct {
	Client   *http.Client
	BaseURL  string   // API base, e.g. http://127.0.0.1:8080/api
	Token    string   // sent as "Authorization: Bearer TOKEN"
	Org      int      // the org every event goes to (unless Orgs is set)
	Orgs     int      // when > 0, events spread over orgs 1..Orgs (see Route)
	BaseURLs []string // when set, events spread over these API bases (nodes) instead of BaseURL
	View     int      // viewId of the path, default 1
	Rate     float64  // events per second; 0 = as fast as Inflight requests allow
	Inflight int      // requests under way at once, default 32
}

// SendResult says what a Run sent.
type SendResult struct {
	OK       int           // answered 2xx: these events are expected at every socket of Org
	OKByOrg  map[int]int   // answered 2xx, per org the event went to
	Failed   int           // non-2xx or transport error
	FirstErr error         // the first failure, if any
	Elapsed  time.Duration // from the first send to the last answer
	Behind   time.Duration // how late the last send left against the fixed schedule
}

// Run sends events first .. first+count-1 and returns when every request has been answered.
// Sequence numbers index the fleet's send clock.
func (s *Sender) Run(ctx context.Context, f *Fleet, first, count int) SendResult {
	inflight := s.Inflight
	if inflight <= 0 {
		inflight = 32
	}
	view := s.View
	if view == 0 {
		view = 1
	}
	auth := "Bearer " + s.Token

	var (
		mu  sync.Mutex
		res = SendResult{OKByOrg: map[int]int{}}
		wg  sync.WaitGroup
	)
	seqs := make(chan int)
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range seqs {
				base, org := s.Route(seq)
				prefix := base + "/orgs/" + strconv.Itoa(org) + "/people/views/" + strconv.Itoa(view) + "/rows/"
				err := s.put(ctx, f, prefix, auth, seq)
				mu.Lock()
				if err != nil {
					res.Failed++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					res.OK++
					res.OKByOrg[org]++
				}
				mu.Unlock()
			}
		}()
	}

	start := time.Now()
	var interval time.Duration
	if s.Rate > 0 {
		interval = time.Duration(float64(time.Second) / s.Rate)
	}
loop:
	for i := range count {
		if interval > 0 {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					break loop
				}
			}
			if i == count-1 {
				res.Behind = max(0, time.Since(due))
			}
		}
		select {
		case seqs <- first + i:
		case <-ctx.Done():
			break loop
		}
	}
	close(seqs)
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}

// Route returns the API base and the org of event seq. With several BaseURLs consecutive
// events alternate between nodes, and with Orgs the org changes every len(BaseURLs) events,
// so every org gets events through every node.
func (s *Sender) Route(seq int) (base string, org int) {
	base, org = s.BaseURL, s.Org
	nodes := max(len(s.BaseURLs), 1)
	if len(s.BaseURLs) > 0 {
		base = s.BaseURLs[seq%nodes]
	}
	if s.Orgs > 0 {
		org = (seq/nodes)%s.Orgs + 1
	}
	return base, org
}

func (s *Sender) put(ctx context.Context, f *Fleet, prefix, auth string, seq int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, prefix+strconv.Itoa(seq), http.NoBody)
	if err != nil {
		return fmt.Errorf("loadgen: request for event %d: %w", seq, err)
	}
	req.Header.Set("Authorization", auth)
	f.MarkSent(seq)
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: PUT event %d: %w", seq, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("loadgen: PUT event %d answered %s", seq, resp.Status)
	}
	return nil
}

// NewHTTPClient returns a client that keeps up to conns keep-alive connections to one host.
// Its timeout is long: a saturated server may hold a mutation for minutes before answering,
// and a request given up on would still fire its event.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 15 * time.Minute}
}
