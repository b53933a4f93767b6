package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
)

// ProxyConfig sizes one proxy-overhead run.
type ProxyConfig struct {
	Requests    int // measured requests per method and target
	Concurrency int // requests under way at once
	Warmup      int // unmeasured requests first, default 500
}

// ProxyTarget is one way to the fake upstream: its name ("direct", "syncgate", "nginx",
// "goproxy") and the base URL the row paths are appended to.
type ProxyTarget struct{ Name, Base string }

// ProxyResult is one method against one target: straight to the fake upstream or through
// a proxy.
type ProxyResult struct {
	Method, Target string // GET or PUT; "direct", "syncgate", "nginx" or "goproxy"
	Concurrency    int
	Rep            int
	LoadAvg        string
	OK, Failed     int
	FirstErr       error
	Elapsed        time.Duration
	Lat            []time.Duration // every answered request, sorted
}

// PerSec is answered requests per second.
func (r ProxyResult) PerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Percentile returns the q-quantile (0..1) of the latencies, nearest rank.
func (r ProxyResult) Percentile(q float64) time.Duration {
	n := len(r.Lat)
	if n == 0 {
		return 0
	}
	return r.Lat[min(max(int(q*float64(n)+0.5)-1, 0), n-1)]
}

// Overhead compares via (through the proxy) with direct: the throughput lost (fraction of
// direct's requests/s) and the latency added at p50 and p99.
func Overhead(direct, via ProxyResult) (loss float64, addP50, addP99 time.Duration) {
	if d := direct.PerSec(); d > 0 {
		loss = 1 - via.PerSec()/d
	}
	return loss, via.Percentile(.5) - direct.Percentile(.5), via.Percentile(.99) - direct.Percentile(.99)
}

// Proxy sends cfg.Requests GETs, then PUTs (the PUT fires syncgate's trigger) of
// /orgs/1/people/views/1/rows/{i}, first to directBase (the fake upstream, e.g.
// http://127.0.0.1:P/v1) and then through each of vias (e.g. syncgate's /api, nginx, the Go
// reverse proxy), with the same client and concurrency.
func Proxy(ctx context.Context, directBase string, vias []ProxyTarget, cfg ProxyConfig) ([]ProxyResult, error) {
	if cfg.Warmup <= 0 {
		cfg.Warmup = 500
	}
	targets := append([]ProxyTarget{{"direct", directBase}}, vias...)
	var out []ProxyResult
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		for _, tt := range targets {
			t := struct{ name, base string }{tt.Name, tt.Base}
			client := loadgen.NewHTTPClient(cfg.Concurrency)
			client.Timeout = 30 * time.Second
			load := LoadAvg()
			warm := proxyRun(ctx, client, method, t.base, cfg.Warmup, cfg.Concurrency)
			if warm.OK == 0 {
				client.CloseIdleConnections()
				return out, fmt.Errorf("scenario: proxy %s %s: warm-up failed: %w", method, t.name, warm.FirstErr)
			}
			r := proxyRun(ctx, client, method, t.base, cfg.Requests, cfg.Concurrency)
			client.CloseIdleConnections()
			r.Method, r.Target, r.Concurrency, r.LoadAvg = method, t.name, cfg.Concurrency, load
			out = append(out, r)
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("scenario: proxy: %w", err)
			}
		}
	}
	return out, nil
}

// proxyRun sends count requests, conc at a time, and times each.
func proxyRun(ctx context.Context, client *http.Client, method, base string, count, conc int) ProxyResult {
	var (
		mu  sync.Mutex
		res ProxyResult
		wg  sync.WaitGroup
	)
	next := make(chan int)
	t0 := time.Now()
	for range max(conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			ok, failed := 0, 0
			var first error
			for i := range next {
				t := time.Now()
				err := proxyDo(ctx, client, method, base+"/orgs/1/people/views/1/rows/"+strconv.Itoa(i))
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t))
				ok++
			}
			mu.Lock()
			res.Lat = append(res.Lat, lat...)
			res.OK += ok
			res.Failed += failed
			if res.FirstErr == nil {
				res.FirstErr = first
			}
			mu.Unlock()
		}()
	}
loop:
	for i := range count {
		select {
		case next <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	res.Elapsed = time.Since(t0)
	slices.Sort(res.Lat)
	return res
}

func proxyDo(ctx context.Context, client *http.Client, method, url string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, http.NoBody)
	if err != nil {
		return fmt.Errorf("scenario: proxy request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer user0")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("scenario: %s %s: %w", method, url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("scenario: %s %s answered %s", method, url, resp.Status)
	}
	return nil
}
