package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/syncgate/syncgate/tracing"
	"github.com/syncgate/syncgate/triggers"
)

// Defaults for the zero values of Config.
const (
	DefaultPrefix         = "/api"
	DefaultTimeout        = 30 * time.Second
	DefaultMaxMatchBody   = 1 << 20
	DefaultPublishTimeout = 10 * time.Second
	// DefaultIdleConnTimeout is below the 5 s keep-alive timeout of Node.js servers
	// (and above none of the common ones: nginx 75 s, Go's and Apache's 5 s or more): the
	// proxy drops an idle upstream connection before the upstream does, so a call is never
	// sent on a connection the upstream is closing at that instant.
	DefaultIdleConnTimeout = 4 * time.Second
	// DefaultMaxRewindBody bounds the mutating request bodies kept in memory so that a
	// call can be re-sent when it provably never reached the upstream.
	DefaultMaxRewindBody = 64 << 10
)

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("proxy: invalid config")

// Publisher delivers a fired event; the gateway's implementation broadcasts
// it to the org's namespace.
type Publisher interface {
	Publish(ctx context.Context, ev triggers.Event) error
}

// Config configures the proxy handler. Zero values take the defaults noted.
type Config struct {
	// Upstream is the API that calls are forwarded to, e.g. http://api:9000/v1;
	// its path is prepended to the path after Prefix.
	Upstream *url.URL
	// Prefix is the path under which calls are proxied (default "/api").
	// "/" proxies everything.
	Prefix string
	// Timeout bounds the wait for the upstream's response headers (default 30s).
	// It applies to the default Transport only.
	Timeout time.Duration
	// IdleConnTimeout closes upstream connections idle for this long (default 4s, see
	// DefaultIdleConnTimeout). It applies to the default Transport only.
	IdleConnTimeout time.Duration
	// MaxRewindBody: a POST/PUT/PATCH/DELETE body of known length up to this many bytes
	// is read before the call is forwarded and can be re-sent, so the transport's own
	// retry applies when a reused connection turns out closed before a byte of the call
	// was written (default 64 KiB; negative: never). A call is never re-sent once any of
	// it may have reached the upstream.
	MaxRewindBody int64
	// Transport performs upstream calls (default: a clone of
	// http.DefaultTransport with ResponseHeaderTimeout = Timeout and 256 idle connections
	// kept to the upstream).
	Transport http.RoundTripper
	// Triggers returns the current trigger set; nil, or a nil result, fires nothing.
	Triggers func() *triggers.Set
	// Publisher receives fired events. Required.
	Publisher Publisher
	// Logger receives the proxy's logs (default slog.Default()).
	Logger *slog.Logger
	// MaxMatchBody bounds the response body kept for from_response triggers,
	// after decompression (default 1 MiB). Larger bodies are still delivered
	// intact, but their from_response triggers don't fire.
	MaxMatchBody int64
	// PublishTimeout bounds publishing the events of one call (default 10s).
	PublishTimeout time.Duration
	// Rewrite, if set, runs after the proxy's own rewrite of each outgoing
	// request (for example to add credentials).
	Rewrite func(*httputil.ProxyRequest)
	// OnUnmatched, if set, is called after a successful mutation that fired
	// no event, with the method and the path relative to Prefix.
	OnUnmatched func(method, path string)
	// Tracing, if set, adds a span "triggers.match" (child of the call's span in the
	// request context) around matching a successful mutation to its events.
	Tracing *tracing.Provider
}

// withDefaults validates cfg and fills in defaults.
func (cfg Config) withDefaults() (Config, error) {
	u := cfg.Upstream
	if u == nil {
		return cfg, fmt.Errorf("%w: Upstream is required", ErrConfig)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return cfg, fmt.Errorf("%w: Upstream %q must be an absolute http(s) URL", ErrConfig, u.Redacted())
	}
	if cfg.Publisher == nil {
		return cfg, fmt.Errorf("%w: Publisher is required", ErrConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.ContainsAny(cfg.Prefix, "?#%") {
		return cfg, fmt.Errorf("%w: Prefix %q must be a plain path starting with /", ErrConfig, cfg.Prefix)
	}
	cfg.Prefix = strings.TrimRight(cfg.Prefix, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IdleConnTimeout <= 0 {
		cfg.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if cfg.MaxRewindBody == 0 {
		cfg.MaxRewindBody = DefaultMaxRewindBody
	}
	if cfg.Transport == nil {
		cfg.Transport = defaultTransport(cfg)
	}
	if cfg.Triggers == nil {
		cfg.Triggers = func() *triggers.Set { return nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMatchBody <= 0 {
		cfg.MaxMatchBody = DefaultMaxMatchBody
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	return cfg, nil
}

// defaultTransport is the Transport used when Config.Transport is nil.
func defaultTransport(cfg Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = cfg.Timeout
	t.IdleConnTimeout = cfg.IdleConnTimeout
	// All calls go to one host: keep enough idle connections to it (the default 2 closes
	// almost every connection under concurrent load, and the proxy pays a dial per call).
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	return t
}
