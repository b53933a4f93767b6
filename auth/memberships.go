package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/syncgate/syncgate/orgid"
)

// Defaults of the list-mode contract: Zetkin's {"data":[{"organization":{"id":1},"role":"admin"}]}.
const (
	DefaultListPath = "data"
	DefaultOrgPath  = "organization.id"
	DefaultRolePath = "role"
)

// OrgPlaceholder in MembershipsConfig.URL selects per-org mode; each check fills in the org.
const OrgPlaceholder = "{org}"

// MembershipsConfig configures NewMemberships.
type MembershipsConfig struct {
	// URL of the memberships endpoint. Without OrgPlaceholder (list mode) it lists every
	// membership of the caller, e.g. http://api/v1/users/me/memberships, and one call per
	// credential serves every org. With it (per-org mode), e.g. http://api/v1/teams/{org}/me,
	// admission to org X calls the URL with X filled in (path-escaped): 2xx = member,
	// 401 = credentials refused, 403/404 = not a member, anything else = unavailable.
	// The placeholder may appear in the path or query only, never in the host.
	URL string
	// Roles that admit a socket. Nil or empty: any non-null role (a follower,
	// whose role is null or missing, is refused). "*": any membership, followers included.
	// In per-org mode without RolePath no role is read: every 2xx admits, and Roles
	// other than "*" are a configuration error.
	Roles []string
	// TTL of cached answers and period of revocation re-checks. Default 30s.
	TTL time.Duration
	// Timeout of one upstream call. Default 5s.
	Timeout time.Duration
	// Client for upstream calls. Default: a plain http.Client. Redirects are
	// never followed (credentials go to URL only): a 3xx is "unavailable".
	Client *http.Client
	// Logger for decisions and upstream failures; credentials and answer values are never
	// logged. Default slog.Default().
	Logger *slog.Logger
	// Rewrite, if set, may edit each upstream request (e.g. add headers) just
	// before it is sent.
	Rewrite func(*http.Request)
	// MaxEntries bounds the cache: distinct credentials in list mode, distinct
	// (credential, org) pairs in per-org mode. Default 100,000.
	MaxEntries int
	// NegativeTTL is how long credentials the upstream refused (401; in list mode also 403)
	// are refused without asking again. Default 5s. They live in their own LRU of
	// NegativeMaxEntries (default 10,000), so a flood of random tokens never evicts
	// members' cached answers.
	NegativeTTL        time.Duration
	NegativeMaxEntries int
	// RecheckWorkers bounds concurrent upstream calls of a re-check round. Default 8.
	RecheckWorkers int

	// ListPath, OrgPath and RolePath are dotted paths (object keys separated by ".";
	// "." alone is the value itself) describing the answer.
	//
	// List mode: ListPath leads from the body to the array of memberships (default
	// DefaultListPath "data"; "." = the body is the array), OrgPath from one membership to
	// its org ID (default DefaultOrgPath "organization.id") and RolePath to its role
	// (default DefaultRolePath "role"; null or missing = no role, a follower). Empty
	// means the default.
	//
	// Per-org mode: ListPath and OrgPath have no use (the URL names the org): they must be
	// empty or their defaults, anything else is an error. RolePath empty means "read no
	// role" (the body is not read at all); set, the role is read from the 2xx body at
	// RolePath and filtered by Roles.
	ListPath, OrgPath, RolePath string
	// IDs is the org ID format of the upstream. Default orgid.Text.
	IDs orgid.Format
}

// Memberships answers "may these credentials join /org/X?" by asking the upstream.
//
// In list mode the parsed list is cached per credential for TTL (one upstream call serves
// every org of that user); in per-org mode each (credential, org) answer is cached. Concurrent
// lookups of one cache entry share one call, and anything but a definite upstream answer fails
// closed with ErrUnavailable (never cached).
//
// Org IDs are compared as canonical text of cfg.IDs: an org that is not a valid ID in that
// format is ErrForbidden without an upstream call; membership ID 7 (a JSON integer) and "7"
// (a JSON string, text format only) both match org "7", never "07".
type Memberships struct {
	url            string // list mode: the URL; per-org mode: the raw URL with OrgPlaceholder
	perOrg         bool
	shape          contract
	anyRole        bool                // "*": followers too
	roles          map[string]struct{} // nil: any non-null role
	ids            orgid.Format
	ttl, timeout   time.Duration
	client         *http.Client
	log            *slog.Logger
	rewrite        func(*http.Request)
	recheckWorkers int

	cache   *ttlCache
	refused *negCache // credentials the upstream refused, briefly
	flights singleflight.Group
	stats   counters
	broken  contractState

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
	target, perOrg, err := parseMembershipsURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.TTL < 0 || cfg.Timeout < 0 || cfg.MaxEntries < 0 || cfg.RecheckWorkers < 0 ||
		cfg.NegativeTTL < 0 || cfg.NegativeMaxEntries < 0 {
		return nil, fmt.Errorf("auth: memberships: TTL, Timeout, MaxEntries, RecheckWorkers, NegativeTTL and NegativeMaxEntries must not be negative")
	}
	if cfg.IDs != orgid.Text && cfg.IDs != orgid.Integer {
		return nil, fmt.Errorf("auth: memberships: unknown org ID format %d", cfg.IDs)
	}
	shape, err := newContract(cfg, perOrg)
	if err != nil {
		return nil, fmt.Errorf("auth: memberships: %w", err)
	}
	m := &Memberships{
		url:            target,
		perOrg:         perOrg,
		shape:          shape,
		ids:            cfg.IDs,
		ttl:            orDefault(cfg.TTL, defaultTTL),
		timeout:        orDefault(cfg.Timeout, defaultTimeout),
		log:            cfg.Logger,
		rewrite:        cfg.Rewrite,
		recheckWorkers: orDefault(cfg.RecheckWorkers, defaultWorkers),
		watched:        make(map[Key]*watchedCred),
		loopDone:       make(chan struct{}),
		broken:         contractState{now: time.Now},
	}
	if err := m.setRoles(cfg.Roles); err != nil {
		return nil, err
	}
	if perOrg && !shape.readsRole() && m.roles != nil {
		return nil, fmt.Errorf("auth: memberships: Roles %v need RolePath in per-org mode (without it no role is read; use \"*\" or no Roles)", cfg.Roles)
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

// parseMembershipsURL checks the endpoint URL and returns what fetches use: list mode the
// normalized URL; per-org mode the raw string, because url.URL.String would escape the
// placeholder's braces and the org is substituted textually.
func parseMembershipsURL(raw string) (target string, perOrg bool, err error) {
	perOrg = strings.Contains(raw, OrgPlaceholder)
	// Two different orgs must lead to the same scheme, user and host: the org never
	// chooses where credentials go.
	a, errA := parseHTTPURL(strings.ReplaceAll(raw, OrgPlaceholder, "a0"))
	b, errB := parseHTTPURL(strings.ReplaceAll(raw, OrgPlaceholder, "b1"))
	switch {
	case errA != nil:
		return "", false, fmt.Errorf("auth: memberships URL %q: %w", raw, errA)
	case errB != nil:
		return "", false, fmt.Errorf("auth: memberships URL %q: %w", raw, errB)
	case a.Scheme != b.Scheme || a.User.String() != b.User.String() || a.Host != b.Host:
		return "", false, fmt.Errorf("auth: memberships URL %q: %s may appear in the path or query only", raw, OrgPlaceholder)
	}
	if perOrg {
		return raw, true, nil
	}
	return a.String(), false, nil
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an absolute http(s) URL")
	}
	return u, nil
}

// urlFor is the URL to call about org (list mode: the same for every org).
func (m *Memberships) urlFor(org string) string {
	if !m.perOrg {
		return m.url
	}
	return strings.ReplaceAll(m.url, OrgPlaceholder, url.PathEscape(org))
}

func (m *Memberships) setRoles(roles []string) error {
	for _, r := range roles {
		switch r {
		case "":
			return fmt.Errorf("auth: memberships: empty role name in Roles")
		case "*":
			m.anyRole = true
		default:
			if m.roles == nil {
				m.roles = make(map[string]struct{})
			}
			m.roles[r] = struct{}{}
		}
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Check returns nil if the upstream says the user behind c is a member of org with an
// allowed role. Otherwise it returns exactly one of the bare sentinels ErrUnauthorized
// (no usable credentials: no upstream call is made; or the upstream refused them),
// ErrForbidden (not a member, the role is not allowed, or org is no valid org ID) or
// ErrUnavailable (no definite answer; also when ctx ends first). Details are logged with
// the key "org", never credentials.
func (m *Memberships) Check(ctx context.Context, c Credentials, org string) error {
	m.stats.checks.Add(1)
	err := m.check(ctx, c, org)
	m.stats.countResult(err)
	return err
}

// CheckCached decides from the caches only, never asking the upstream: ok is false when
// nothing is cached for these credentials (and, in per-org mode, this org). It lets a
// caller that must not cause upstream calls (a client IP over its failure budget) still
// admit known members.
func (m *Memberships) CheckCached(c Credentials, org string) (err error, ok bool) {
	if !usable(c) || !m.ids.Valid(org) {
		return ErrForbidden, true
	}
	res, ok := m.cached(m.entry(c.Key(), org))
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
	if !m.ids.Valid(org) {
		m.log.DebugContext(ctx, "membership check: org is not a valid org ID", "org", org, "format", m.ids.String())
		return ErrForbidden
	}
	res, err := m.lookup(ctx, c, org, false)
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

// entry is the cache entry answering about org: per credential in list mode (one answer
// covers every org), per (credential, org) in per-org mode.
func (m *Memberships) entry(k Key, org string) entryKey {
	if !m.perOrg {
		return entryKey{cred: k}
	}
	return entryKey{cred: k, org: org}
}

// lookup answers from the cache or, on a miss or when refresh is set, from the
// upstream through singleflight (one flight per cache entry). The shared call runs under
// m.base with the Timeout, so a caller whose ctx ends neither cancels it for the others
// nor waits for it: that caller gets ErrUnavailable.
func (m *Memberships) lookup(ctx context.Context, c Credentials, org string, refresh bool) (result, error) {
	e := m.entry(c.Key(), org)
	if !refresh {
		if r, ok := m.cached(e); ok {
			return r, nil
		}
	}
	if ctx.Err() != nil {
		return result{}, ErrUnavailable // nobody would wait for the answer
	}
	ch := m.flights.DoChan(string(e.cred[:])+e.org, func() (any, error) {
		// A call that finished between our cache miss and this flight has
		// already stored its answer: use it instead of calling again.
		if !refresh {
			if r, ok := m.cached(e); ok {
				return r, nil
			}
		}
		return m.fetch(e, c)
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

// cached answers from the refusals (per credential), then from the answers cache.
func (m *Memberships) cached(e entryKey) (result, bool) {
	now := time.Now()
	if m.refused.has(e.cred, now) {
		m.stats.cacheHits.Add(1)
		return result{unauthorized: true}, true
	}
	if r, ok := m.cache.get(e, now); ok {
		m.stats.cacheHits.Add(1)
		return r, true
	}
	return result{}, false
}

// store caches a definite answer: a refusal in the short-lived negative cache (and every
// older answer of these credentials forgotten, in per-org mode for every org), memberships
// in the answers cache.
func (m *Memberships) store(e entryKey, res result) {
	now := time.Now()
	if res.unauthorized {
		m.cache.removeCred(e.cred)
		m.refused.put(e.cred, now)
		return
	}
	m.refused.remove(e.cred)
	m.cache.put(e, res, now)
}
