package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/syncgate/syncgate/orgid"
)

// MembershipsConfig configures NewMemberships.
type MembershipsConfig struct {
	// URL is the full URL of GET memberships, e.g. http://api/v1/users/me/memberships.
	URL string
	// Roles that admit a socket. Nil or empty: any non-null role (a follower,
	// whose role is null, is refused). "*": any membership, followers included.
	Roles []string
	// TTL of cached answers and period of revocation re-checks. Default 30s.
	TTL time.Duration
	// Timeout of one upstream call. Default 5s.
	Timeout time.Duration
	// Client for upstream calls. Default: a plain http.Client. Redirects are
	// never followed (credentials go to URL only): a 3xx is "unavailable".
	Client *http.Client
	// Logger for decisions and upstream failures; credentials are never logged.
	// Default slog.Default().
	Logger *slog.Logger
	// Rewrite, if set, may edit each upstream request (e.g. add headers) just
	// before it is sent.
	Rewrite func(*http.Request)
	// MaxEntries bounds the cache (distinct credentials). Default 100,000.
	MaxEntries int
	// NegativeTTL is how long credentials the upstream refused (401/403) are refused
	// without asking again. Default 5s. They live in their own LRU of NegativeMaxEntries
	// (default 10,000), so a flood of random tokens never evicts members' cached answers.
	NegativeTTL        time.Duration
	NegativeMaxEntries int
	// RecheckWorkers bounds concurrent upstream calls of a re-check round. Default 8.
	RecheckWorkers int

	// ListPath, OrgPath and RolePath describe the upstream's answer in list mode: dotted
	// paths to the array of memberships (default "data"; "." = the body is the array), to
	// the org ID inside one membership (default "organization.id") and to its role
	// (default "role"). When URL contains "{org}" (per-org mode) it is called once per org
	// instead: 2xx = member, and the role is read (at RolePath) and filtered by Roles only
	// when RolePath is set.
	ListPath, OrgPath, RolePath string
	// IDs is the org ID format of the upstream. Default orgid.Text.
	IDs orgid.Format
}

// Memberships answers "may these credentials join /org/N?" by asking the
// upstream which orgs the user belongs to. The parsed list is cached per
// credential for TTL (one upstream call serves every org of that user),
// concurrent lookups of one credential share one call, and anything but a
// definite upstream answer fails closed with ErrUnavailable (never cached).
//
// Org ids are canonical decimals: "1" matches membership id 1; "01", "+1",
// " 1" or "1.0" never match anything and are ErrForbidden.
type Memberships struct {
	url            string
	anyRole        bool                // "*": followers too
	roles          map[string]struct{} // nil: any non-null role
	ttl, timeout   time.Duration
	client         *http.Client
	log            *slog.Logger
	rewrite        func(*http.Request)
	recheckWorkers int

	cache   *ttlCache
	refused *negCache // credentials the upstream refused, briefly
	flights singleflight.Group
	stats   counters

	base   context.Context // parent of every upstream call; canceled by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	watched  map[Key]*watchedCred
	started  bool // the re-check loop runs
	closed   bool
	loopDone chan struct{}
}

const (
	defaultTTL        = 30 * time.Second
	defaultTimeout    = 5 * time.Second
	defaultMaxEntries = 100_000
	defaultNegTTL     = 5 * time.Second
	defaultNegEntries = 10_000
	defaultWorkers    = 8
	maxCredentialLen  = 32 << 10 // per field; longer is refused without an upstream call
)

// NewMemberships validates cfg and applies defaults. Call Close when done.
func NewMemberships(cfg MembershipsConfig) (*Memberships, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("auth: memberships URL %q: %w", cfg.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth: memberships URL %q: want an absolute http(s) URL", cfg.URL)
	}
	if cfg.TTL < 0 || cfg.Timeout < 0 || cfg.MaxEntries < 0 || cfg.RecheckWorkers < 0 ||
		cfg.NegativeTTL < 0 || cfg.NegativeMaxEntries < 0 {
		return nil, fmt.Errorf("auth: memberships: TTL, Timeout, MaxEntries, RecheckWorkers, NegativeTTL and NegativeMaxEntries must not be negative")
	}
	m := &Memberships{
		url:            u.String(),
		ttl:            orDefault(cfg.TTL, defaultTTL),
		timeout:        orDefault(cfg.Timeout, defaultTimeout),
		log:            cfg.Logger,
		rewrite:        cfg.Rewrite,
		recheckWorkers: orDefault(cfg.RecheckWorkers, defaultWorkers),
		watched:        make(map[Key]*watchedCred),
		loopDone:       make(chan struct{}),
	}
	for _, r := range cfg.Roles {
		switch r {
		case "":
			return nil, fmt.Errorf("auth: memberships: empty role name in Roles")
		case "*":
			m.anyRole = true
		default:
			if m.roles == nil {
				m.roles = make(map[string]struct{})
			}
			m.roles[r] = struct{}{}
		}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	client := http.Client{}
	if cfg.Client != nil {
		client = *cfg.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m.client = &client
	m.cache = newTTLCache(m.ttl, orDefault(cfg.MaxEntries, defaultMaxEntries))
	m.refused = newNegCache(orDefault(cfg.NegativeTTL, defaultNegTTL), orDefault(cfg.NegativeMaxEntries, defaultNegEntries))
	m.base, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Check returns nil if the upstream lists org among the memberships of the
// user behind c with an allowed role. Otherwise it returns exactly one of the
// bare sentinels ErrUnauthorized (no usable credentials: no upstream call is
// made; or the upstream answered 401/403), ErrForbidden (not a member, or the
// role is not allowed) or ErrUnavailable (no definite answer; also when ctx
// ends first). Details are logged with the key "org", never credentials.
func (m *Memberships) Check(ctx context.Context, c Credentials, org string) error {
	m.stats.checks.Add(1)
	err := m.check(ctx, c, org)
	m.stats.countResult(err)
	return err
}

// CheckCached decides from the caches only, never asking the upstream: ok is false when
// nothing is cached for these credentials. It lets a caller that must not cause upstream
// calls (a client IP over its failure budget) still admit known members.
func (m *Memberships) CheckCached(c Credentials, org string) (err error, ok bool) {
	if !usable(c) || !canonicalID(org) {
		return ErrForbidden, true
	}
	res, ok := m.cached(c.Key())
	if !ok {
		return nil, false
	}
	return decide(res, org), true
}

func (m *Memberships) check(ctx context.Context, c Credentials, org string) error {
	if !usable(c) {
		m.log.DebugContext(ctx, "membership check: no usable credentials", "org", org)
		return ErrUnauthorized
	}
	if !canonicalID(org) {
		m.log.DebugContext(ctx, "membership check: org is not a canonical decimal id", "org", org)
		return ErrForbidden
	}
	res, err := m.lookup(ctx, c, false)
	if err != nil {
		m.log.DebugContext(ctx, "membership check: no answer", "org", org, "err", err)
		return err
	}
	err = decide(res, org)
	if err != nil {
		m.log.DebugContext(ctx, "membership check: refused", "org", org, "err", err)
	}
	return err
}

// decide applies a definite upstream answer to one org.
func decide(res result, org string) error {
	switch {
	case res.unauthorized:
		return ErrUnauthorized
	case res.orgs[org]:
		return nil
	default:
		return ErrForbidden
	}
}

func (m *Memberships) roleAllowed(role *string) bool {
	switch {
	case m.anyRole:
		return true
	case role == nil:
		return false
	case m.roles == nil:
		return true
	default:
		_, ok := m.roles[*role]
		return ok
	}
}

// lookup answers from the cache or, on a miss or when refresh is set, from the
// upstream through singleflight. The shared call runs under m.base with the
// Timeout, so a caller whose ctx ends neither cancels it for the others nor
// waits for it: that caller gets ErrUnavailable.
func (m *Memberships) lookup(ctx context.Context, c Credentials, refresh bool) (result, error) {
	k := c.Key()
	if !refresh {
		if r, ok := m.cached(k); ok {
			return r, nil
		}
	}
	if ctx.Err() != nil {
		return result{}, ErrUnavailable // nobody would wait for the answer
	}
	ch := m.flights.DoChan(string(k[:]), func() (any, error) {
		// A call that finished between our cache miss and this flight has
		// already stored its answer: use it instead of calling again.
		if !refresh {
			if r, ok := m.cached(k); ok {
				return r, nil
			}
		}
		return m.fetch(k, c)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return result{}, r.Err
		}
		return r.Val.(result), nil
	case <-ctx.Done():
		return result{}, ErrUnavailable
	}
}

// cached answers from the refusals, then from the answers cache.
func (m *Memberships) cached(k Key) (result, bool) {
	now := time.Now()
	if m.refused.has(k, now) {
		m.stats.cacheHits.Add(1)
		return result{unauthorized: true}, true
	}
	if r, ok := m.cache.get(k, now); ok {
		m.stats.cacheHits.Add(1)
		return r, true
	}
	return result{}, false
}

// store caches a definite answer: a refusal in the short-lived negative cache (and any
// older answer of these credentials forgotten), memberships in the answers cache.
func (m *Memberships) store(k Key, res result) {
	now := time.Now()
	if res.unauthorized {
		m.cache.remove(k)
		m.refused.put(k, now)
		return
	}
	m.refused.remove(k)
	m.cache.put(k, res, now)
}

// canonicalID reports whether s is a canonical non-negative decimal (no sign,
// no leading zeros, at most 20 digits), the only form org ids are compared in.
func canonicalID(s string) bool {
	if s == "" || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
