// Command goproxy is the proxy-overhead baseline a Go user writes in ten lines: Go's
// httputil.ReverseProxy serving /api/ from the upstream's base URL (/api/X → BASE/X), with a
// transport that keeps as many idle upstream connections as syncgate's proxy does (256 per
// host). GET /healthz answers 200.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8094", "address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:9000/v1", "the upstream API's base URL")
	flag.Parse()
	h, err := handler(*upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goproxy:", err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "goproxy:", err)
		os.Exit(1)
	}
}

func handler(upstream string) (http.Handler, error) {
	base, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("--upstream: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 256
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = base.Scheme, base.Host
			r.Out.URL.Path = strings.TrimSuffix(base.Path, "/") + "/" + strings.TrimPrefix(r.In.URL.Path, "/api/")
			r.Out.URL.RawPath = ""
			r.Out.Host = base.Host
		},
		Transport: tr,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.Handle("/api/", rp)
	return mux, nil
}
