package proxy

import (
	"context"
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
	if !safePath(rel) {
		writeError(w, http.StatusBadRequest, "bad path")
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

// safePath rejects undecodable escapes and dot segments, raw or encoded
// (also when an encoded slash or backslash would split a segment upstream),
// so a call can't climb out of the upstream's path (/v1/../admin).
func safePath(rel string) bool {
	for seg := range strings.SplitSeq(rel, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return false
		}
		for part := range strings.FieldsFuncSeq(dec, func(r rune) bool { return r == '/' || r == '\\' }) {
			if part == "." || part == ".." {
				return false
			}
		}
	}
	return true
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
	if err != nil { // not reached: safePath and url.URL validated both parts
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
