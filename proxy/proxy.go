package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// handler is the proxy: prefix check, then httputil.ReverseProxy.
type handler struct {
	cfg    Config
	upPath string // the upstream's escaped path without a trailing slash
	rp     *httputil.ReverseProxy
	log    *slog.Logger
}

// callKey is the context key of the *call a request belongs to.
type callKey struct{}

// call is what the proxy remembers about an incoming request.
type call struct {
	method string
	rel    string      // escaped path relative to the prefix, no query
	header http.Header // the incoming request's header
}

// New returns the proxy handler. It receives full paths including the prefix:
// /api/orgs/1/x?y=2 goes to {Upstream}/orgs/1/x?y=2; other paths get a JSON 404.
func New(cfg Config) (http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &handler{
		cfg:    cfg,
		upPath: strings.TrimRight(cfg.Upstream.EscapedPath(), "/"),
		log:    cfg.Logger.With("component", "proxy"),
	}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewrite,
		Transport:      cfg.Transport,
		FlushInterval:  -1, // stream: flush every write
		ErrorLog:       slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		ErrorHandler:   h.upstreamError,
		ModifyResponse: h.modifyResponse,
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := h.relative(r.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if !cleanPath(rel) || strings.ContainsAny(r.URL.Path, "\x00\\") {
		writeError(w, http.StatusBadRequest, "bad path")
		return
	}
	if badUpgrade(r) {
		writeError(w, http.StatusBadRequest, "upgrade not allowed")
		return
	}
	if !h.rewindable(r) {
		writeError(w, http.StatusBadRequest, "request body incomplete")
		return
	}
	c := &call{method: r.Method, rel: rel, header: r.Header}
	h.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
}

// relative strips the prefix from an escaped path; false if it's not under it.
func (h *handler) relative(esc string) (string, bool) {
	switch p := h.cfg.Prefix; {
	case p == "":
		return esc, true
	case esc == p:
		return "", true
	case strings.HasPrefix(esc, p+"/"):
		return esc[len(p):], true
	}
	return "", false
}

// rewrite points the outgoing request at the upstream, keeping the path's
// encoding, the query, and adding X-Forwarded-For/Host/Proto.
func (h *handler) rewrite(pr *httputil.ProxyRequest) {
	c, _ := pr.In.Context().Value(callKey{}).(*call)
	rel := ""
	if c != nil {
		rel = c.rel
	}
	up := h.cfg.Upstream
	esc := h.upPath + rel
	if esc == "" {
		esc = "/"
	}
	path, err := url.PathUnescape(esc)
	if err != nil { // not reached: cleanPath and url.URL validated both parts
		path = esc
	}
	query := pr.In.URL.RawQuery
	if up.RawQuery != "" {
		if query == "" {
			query = up.RawQuery
		} else {
			query = up.RawQuery + "&" + query
		}
	}
	pr.Out.URL = &url.URL{Scheme: up.Scheme, Host: up.Host, Path: path, RawPath: esc, RawQuery: query}
	pr.Out.Host = ""
	pr.SetXForwarded()
	if h.cfg.Rewrite != nil {
		h.cfg.Rewrite(pr)
	}
}

// rewindable reads a small body of a mutating call into memory and sets GetBody, so that
// http.Transport re-sends the call on a fresh connection when a reused one was closed by
// the upstream before anything was written (its nothingWrittenError retry; with bytes
// written it never retries a POST/PUT/PATCH/DELETE). Other methods carry no body to
// speak of, bodies of unknown length are streamed as before. False: the client's body
// ended early (then nothing was sent upstream).
func (h *handler) rewindable(r *http.Request) bool {
	if !mutating[strings.ToUpper(r.Method)] || r.Body == nil || r.Body == http.NoBody ||
		r.ContentLength <= 0 || r.ContentLength > h.cfg.MaxRewindBody {
		return true
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		h.log.Debug("request body ended early", "method", r.Method, "path", r.URL.Path, "err", err)
		return false
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	return true
}
