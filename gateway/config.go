package gateway

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/clientlimits"
	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/orgid"
)

// Config is the whole configuration of a gateway, filled from flags and their environment
// twins (flag --upstream ↔ SYNCGATE_UPSTREAM) in one place and validated before anything
// listens.
type Config struct {
	Listen          string   // --listen
	Upstream        string   // --upstream: base URL of the API, e.g. http://api:9000/v1
	APIPrefix       string   // --api-prefix
	Triggers        string   // --triggers: YAML trigger file
	AllowedOrigins  []string // --allowed-origins: exact scheme://host[:port]; empty = same host
	MembershipsPath string   // --memberships-path, relative to Upstream; "{org}" in it: per-org mode
	MembershipsList string   // --memberships-list: dotted path to the array of memberships ("." = the body)
	MembershipsOrg  string   // --memberships-org: dotted path to the org ID inside one membership
	MembershipsRole string   // --memberships-role: dotted path to the role; "": auth's default (list mode "role", per-org mode none)
	// --namespace-prefix: sockets join prefix + "/" + org ID (default /org).
	NamespacePrefix string
	// --org-id-format: how the upstream spells org IDs (text or integer), see package orgid.
	OrgIDFormat orgid.Format
	// --readyz-probe-path: /readyz GETs Upstream + this path; "" only checks that the
	// upstream answers HTTP at all.
	ReadyzProbePath string
	MemberRoles     []string      // --member-roles: empty = any non-null role; "*" = any
	MembershipTTL   time.Duration // --membership-ttl
	UpstreamTimeout time.Duration // --upstream-timeout
	// --upstream-idle-timeout: idle upstream connections are closed after this, below the
	// upstream's own keep-alive timeout (Node.js: 5s) so no call lands on one it is closing.
	UpstreamIdleTimeout time.Duration
	// --read-header-timeout / --idle-timeout of the public listener (no read/write timeout:
	// websockets, long-polling and streamed API responses outlive any fixed bound).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	PingInterval      time.Duration // --ping-interval
	PingTimeout       time.Duration // --ping-timeout
	MaxPayload        int           // --max-payload
	MaxQueueBytes     int           // --max-queue-bytes: slow-consumer limit per connection
	RecoveryWindow    time.Duration // --recovery-window: connection state recovery; 0 disables
	Redis             string        // --redis: redis:// or rediss:// URL; empty = single node, in memory
	RedisCluster      string        // --redis-cluster: seed addresses of a Redis Cluster (fan-out engine fanout.Cluster)
	RedisSentinel     string        // --redis-sentinel: MASTER@ADDR,ADDR: a Sentinel-managed primary, instead of --redis
	RedisUsername     string        // --redis-username (ACL user) for --redis, --redis-sentinel, --redis-cluster
	RedisPassword     string        // --redis-password
	NodeLease         time.Duration // --node-lease: a node silent this long is declared lost (every socket resyncs)
	ClientEventRate   float64       // --client-event-rate: client events per second per socket
	ClientEventBurst  int           // --client-event-burst
	AdminListen       string        // --admin-listen: publish API (and ops endpoints)
	AdminToken        string        // --admin-token: bearer token of the publish API; empty disables it
	PublishEvents     []string      // --publish-events: event names the publish API accepts besides the trigger file's
	ShutdownTimeout   time.Duration // --shutdown-timeout: bound on a graceful stop

	// --admin-ui-user, --admin-ui-password-hash (bcrypt), --admin-ui-origins: the Socket.IO
	// Admin UI on the admin listener (package adminui); no user: /admin refuses everyone.
	AdminUIUser         string
	AdminUIPasswordHash string
	AdminUIOrigins      []string
	AdminUIReadOnly     bool // --admin-ui-read-only: the UI may look, not act

	// --admission-failures-per-ip: refused admissions a client IP may have, "N/s[,burst=B]"
	// (also /m, /h) or "off"; past it its CONNECTs get connect_error "rate_limited".
	AdmissionFailuresPerIP string

	// --max-connections-per-ip: Engine.IO sessions (open sockets and pending handshakes) one
	// client IP may hold, 0: no limit; past it a handshake gets 429. --trusted-proxies:
	// proxies (CIDRs) whose X-Forwarded-For hop names the client; empty: the peer address is
	// the client IP (see clientlimits.ClientIP).
	MaxConnectionsPerIP int
	TrustedProxies      []netip.Prefix

	Auth              string   // --auth: "proxy" (forward the browser's credentials) or "session" (syncgate owns the login)
	SessionStore      string   // --session-store: memory, bolt:PATH or redis (default: redis with any Redis, else bolt:syncgate-sessions.db)
	SessionCookie     string   // --session-cookie
	InsecureCookies   bool     // --insecure-cookies: no Secure attribute (local plain HTTP only)
	LandingPath       string   // --landing-path: where a login lands
	OAuthProvider     string   // --oauth-provider: google or generic
	OAuthClientID     string   // --oauth-client-id
	OAuthClientSecret string   // --oauth-client-secret (prefer SYNCGATE_OAUTH_CLIENT_SECRET)
	OAuthRedirectURL  string   // --oauth-redirect-url: this gateway's /auth/callback, as registered
	OAuthAuthURL      string   // --oauth-auth-url (generic)
	OAuthTokenURL     string   // --oauth-token-url (generic)
	OAuthUserinfoURL  string   // --oauth-userinfo-url (generic, optional)
	OAuthScopes       []string // --oauth-scopes
	Drive             bool     // --drive: watch Google Drive files for sockets (session mode)
	Demo              bool     // --demo: built-in example API, demo page, PoC triggers
	LogFormat         string   // --log-format: text or json
	LogLevel          string   // --log-level: debug, info, warn, error

	// --drive-endpoint: a Drive v3 compatible base URL (egress proxy, restricted VIP,
	// emulator); empty: Google's. The watcher's timings, defaults from package drive:
	// --drive-poll-interval, --drive-poll-max-interval, --drive-recheck-interval,
	// --drive-backoff-max, --drive-meta-cache, --drive-list-cache.
	DriveEndpoint        string
	DrivePollInterval    time.Duration
	DrivePollMaxInterval time.Duration
	DriveRecheckInterval time.Duration
	DriveBackoffMax      time.Duration
	DriveMetaCache       time.Duration
	DriveListCache       time.Duration
}

// DefaultConfig returns the defaults documented in the README.
func DefaultConfig() Config {
	return Config{
		Listen:              ":8080",
		APIPrefix:           "/api",
		MembershipsPath:     "/users/me/memberships",
		MembershipsList:     "data",
		MembershipsOrg:      "organization.id",
		NamespacePrefix:     "/org",
		OrgIDFormat:         orgid.Text,
		MembershipTTL:       30 * time.Second,
		UpstreamTimeout:     30 * time.Second,
		UpstreamIdleTimeout: 4 * time.Second,
		ReadHeaderTimeout:   10 * time.Second,
		IdleTimeout:         120 * time.Second,
		PingInterval:        25 * time.Second,
		PingTimeout:         20 * time.Second,
		MaxPayload:          1_000_000,
		MaxQueueBytes:       1 << 20,
		RecoveryWindow:      2 * time.Minute,
		NodeLease:           5 * time.Second,
		ShutdownTimeout:     15 * time.Second,
		Auth:                "proxy",
		SessionCookie:       "sg_session",
		LandingPath:         "/",
		OAuthProvider:       "google",
		ClientEventRate:     20,
		ClientEventBurst:    40,
		AdminListen:         "127.0.0.1:9090",
		LogFormat:           "text",
		LogLevel:            "info",

		AdmissionFailuresPerIP: "1/s,burst=20",
		MaxConnectionsPerIP:    clientlimits.DefaultMaxConnectionsPerIP,

		DrivePollInterval:    drive.DefaultMinInterval,
		DrivePollMaxInterval: drive.DefaultMaxInterval,
		DriveRecheckInterval: drive.DefaultRecheckInterval,
		DriveBackoffMax:      drive.DefaultBackoffMax,
		DriveMetaCache:       drive.DefaultMetaTTL,
		DriveListCache:       drive.DefaultListTTL,
	}
}

// EnvName is the environment twin of a flag: SYNCGATE_ and the flag name in upper case with
// dashes as underscores.
func EnvName(flagName string) string {
	return "SYNCGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// NewFlagSet defines every gateway flag on a new FlagSet named "syncgate"
// (flag.ContinueOnError), with c's fields as defaults and as targets. finish, called after
// fs.Parse, copies the flags that are not plain fields (lists, proxies, the org ID format)
// into c.
func NewFlagSet(c *Config) (fs *flag.FlagSet, finish func() error) {
	fs = flag.NewFlagSet("syncgate", flag.ContinueOnError)
	var origins, roles, publishEvents, scopes, adminUIOrigins string
	fs.StringVar(&c.Listen, "listen", c.Listen, "address of the public listener: the API proxy, /socket.io/ and /healthz")
	fs.StringVar(&c.Upstream, "upstream", c.Upstream, "base URL of the upstream API (required unless --demo)")
	fs.StringVar(&c.APIPrefix, "api-prefix", c.APIPrefix, "path prefix proxied to the upstream")
	fs.StringVar(&c.Triggers, "triggers", c.Triggers, "YAML trigger file")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated exact origins (scheme://host[:port]); empty: same host as the request")
	fs.StringVar(&c.MembershipsPath, "memberships-path", c.MembershipsPath, `memberships endpoint, relative to --upstream; with "{org}" in it (e.g. /orgs/{org}/me) it is asked once per org: 2xx = member`)
	fs.StringVar(&c.MembershipsList, "memberships-list", c.MembershipsList, `dotted path to the array of memberships in the endpoint's JSON answer; "." = the answer is the array`)
	fs.StringVar(&c.MembershipsOrg, "memberships-org", c.MembershipsOrg, "dotted path to the org ID inside one membership")
	fs.StringVar(&c.MembershipsRole, "memberships-role", c.MembershipsRole, `dotted path to the role inside one membership (or in the per-org answer), checked against --member-roles; empty: "role" in list mode, no role check in per-org mode`)
	fs.StringVar(&c.NamespacePrefix, "namespace-prefix", c.NamespacePrefix, `Socket.IO namespace of an org is this prefix, "/" and the org ID (e.g. /org/42, /team/acme-corp)`)
	idFormat := c.OrgIDFormat.String()
	fs.StringVar(&idFormat, "org-id-format", idFormat, `org IDs of the upstream: "text" ([A-Za-z0-9_-]{1,64}, compared as text: "007" and "7" differ) or "integer" (decimal; "/org/007" is refused, memberships must be JSON numbers)`)
	fs.StringVar(&c.ReadyzProbePath, "readyz-probe-path", c.ReadyzProbePath, "/readyz GETs this path of --upstream (e.g. /health): an answer below 500, 401 and 403 included, is ready; empty: /readyz only checks the upstream answers HTTP")
	fs.StringVar(&roles, "member-roles", "", `comma-separated roles that admit a socket; empty: any non-null role; "*": any membership, followers (null role) too`)
	fs.DurationVar(&c.MembershipTTL, "membership-ttl", c.MembershipTTL, "membership cache lifetime and revocation re-check period")
	fs.DurationVar(&c.UpstreamTimeout, "upstream-timeout", c.UpstreamTimeout, "time to wait for upstream response headers")
	fs.DurationVar(&c.UpstreamIdleTimeout, "upstream-idle-timeout", c.UpstreamIdleTimeout, "close idle upstream connections after this; keep it below the upstream's keep-alive timeout (Node.js: 5s), else a call can land on a connection the upstream is closing and fail with 502 (a mutating call of up to 64 KiB is re-sent only if not a byte of it was written)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "public listener: time a client has to send a request's headers")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "public listener: idle keep-alive connections are closed after this (websockets, long-polling and streamed responses are never cut: there is no read or write timeout)")
	fs.DurationVar(&c.PingInterval, "ping-interval", c.PingInterval, "Engine.IO ping interval")
	fs.DurationVar(&c.PingTimeout, "ping-timeout", c.PingTimeout, "Engine.IO ping timeout")
	fs.IntVar(&c.MaxPayload, "max-payload", c.MaxPayload, "largest message or polling body a client may send, bytes")
	fs.IntVar(&c.MaxQueueBytes, "max-queue-bytes", c.MaxQueueBytes, "outgoing bytes queued per connection before it is dropped as a slow consumer (websocket pongs count too; more than 100 pings at once or 20/s drop it the same way)")
	fs.DurationVar(&c.RecoveryWindow, "recovery-window", c.RecoveryWindow, "how long a reconnecting socket can recover missed events (0 disables)")
	fs.StringVar(&c.Redis, "redis", c.Redis, "Redis URL (redis://, rediss://): fan-out, recovery log and sessions shared by every node; empty: single node, in memory")
	fs.StringVar(&c.RedisCluster, "redis-cluster", c.RedisCluster, "Redis Cluster seed addresses (host:port or redis:// / rediss:// URLs, comma-separated): fan-out and recovery log sharded over the cluster, each node reads only the orgs it has sockets in; excludes --redis and --redis-sentinel")
	fs.StringVar(&c.RedisSentinel, "redis-sentinel", c.RedisSentinel, "MASTER@ADDR,ADDR,...: the Redis primary named MASTER as told by these Sentinels (follows failovers); used like --redis, which it excludes")
	fs.StringVar(&c.RedisUsername, "redis-username", c.RedisUsername, "Redis ACL user for --redis, --redis-sentinel or --redis-cluster (overrides one in the URL)")
	fs.StringVar(&c.RedisPassword, "redis-password", c.RedisPassword, "Redis password for --redis, --redis-sentinel or --redis-cluster (overrides one in the URL; prefer the SYNCGATE_REDIS_PASSWORD environment variable)")
	fs.DurationVar(&c.NodeLease, "node-lease", c.NodeLease, "with --redis: a node that stops renewing its lease (every second) for this long is declared lost and every socket is told to resync")
	fs.Float64Var(&c.ClientEventRate, "client-event-rate", c.ClientEventRate, "client events a socket may send per second")
	fs.IntVar(&c.ClientEventBurst, "client-event-burst", c.ClientEventBurst, "client events a socket may send in a burst")
	fs.IntVar(&c.MaxConnectionsPerIP, "max-connections-per-ip", c.MaxConnectionsPerIP, `Engine.IO sessions (open sockets and pending handshakes) one client IP (IPv6: /64) may hold; past it a handshake of either transport gets 429 {"code":3,"message":"Too many connections"} before any session exists; 0: no limit`)
	var trustedProxies string
	fs.StringVar(&trustedProxies, "trusted-proxies", "", "comma list of proxy addresses or CIDRs (10.0.0.0/8,192.0.2.7) whose X-Forwarded-For hop is the client IP; empty: nobody, the peer address is the client IP")
	fs.StringVar(&c.AdmissionFailuresPerIP, "admission-failures-per-ip", c.AdmissionFailuresPerIP, `refused socket admissions (unauthorized, forbidden) per client IP (IPv6: /64), a token bucket: "N/s[,burst=B]" (or /m, /h; burst defaults to N), or "off"; while spent, CONNECTs get "rate_limited" without an upstream call, except members whose answer is cached; admissions that succeed take no token`)
	fs.StringVar(&c.AdminListen, "admin-listen", c.AdminListen, "address of the admin listener: metrics, status page, publish API, Socket.IO Admin UI; empty disables it")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "bearer token (at least 16 characters) for POST /v1/publish on the admin listener; empty disables the publish API")
	fs.StringVar(&c.AdminUIUser, "admin-ui-user", c.AdminUIUser, "Socket.IO Admin UI on the admin listener (/socket.io/, namespace /admin): the login's user name; empty: the UI is refused")
	fs.StringVar(&c.AdminUIPasswordHash, "admin-ui-password-hash", c.AdminUIPasswordHash, `bcrypt hash of the Admin UI password (e.g. htpasswd -bnBC 10 "" PASSWORD | tr -d ':\n'); prefer the environment variable`)
	fs.BoolVar(&c.AdminUIReadOnly, "admin-ui-read-only", c.AdminUIReadOnly, "the Admin UI may list sockets, rooms and events but not act: disconnect, join, leave and emit are neither offered nor carried out")
	fs.StringVar(&adminUIOrigins, "admin-ui-origins", "", "comma-separated exact origins the Admin UI is served from (e.g. https://admin.socket.io), granted CORS with credentials on the admin listener's /socket.io/; empty: none")
	fs.StringVar(&publishEvents, "publish-events", "", "comma list of event names the publish API accepts besides the trigger file's")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "on SIGTERM, how long in-flight API calls may take before the process exits")
	fs.StringVar(&c.Auth, "auth", c.Auth, `"proxy": forward the browser's Cookie/Authorization; "session": syncgate owns sessions and OAuth login`)
	fs.StringVar(&c.SessionStore, "session-store", c.SessionStore, "session mode: memory, bolt:PATH or redis (default: redis with --redis, --redis-sentinel or --redis-cluster, else bolt:syncgate-sessions.db)")
	fs.StringVar(&c.SessionCookie, "session-cookie", c.SessionCookie, "session mode: cookie name")
	fs.BoolVar(&c.InsecureCookies, "insecure-cookies", c.InsecureCookies, "session mode: cookies without Secure, for local plain HTTP only")
	fs.StringVar(&c.LandingPath, "landing-path", c.LandingPath, "session mode: local path a finished login redirects to")
	fs.StringVar(&c.OAuthProvider, "oauth-provider", c.OAuthProvider, "session mode: google or generic")
	fs.StringVar(&c.OAuthClientID, "oauth-client-id", c.OAuthClientID, "session mode: OAuth client ID")
	fs.StringVar(&c.OAuthClientSecret, "oauth-client-secret", c.OAuthClientSecret, "session mode: OAuth client secret (prefer the environment variable)")
	fs.StringVar(&c.OAuthRedirectURL, "oauth-redirect-url", c.OAuthRedirectURL, "session mode: absolute URL of this gateway's /auth/callback")
	fs.StringVar(&c.OAuthAuthURL, "oauth-auth-url", c.OAuthAuthURL, "session mode, generic provider: authorization endpoint")
	fs.StringVar(&c.OAuthTokenURL, "oauth-token-url", c.OAuthTokenURL, "session mode, generic provider: token endpoint")
	fs.StringVar(&c.OAuthUserinfoURL, "oauth-userinfo-url", c.OAuthUserinfoURL, "session mode, generic provider: userinfo endpoint (optional)")
	fs.StringVar(&scopes, "oauth-scopes", "", "session mode: comma list of scopes (google default: openid,email,profile)")
	fs.BoolVar(&c.Drive, "drive", c.Drive, "session mode: let sockets watch Google Drive files (drive.watch); the OAuth scopes must include a Drive scope")
	fs.StringVar(&c.DriveEndpoint, "drive-endpoint", c.DriveEndpoint, "with --drive: base URL of a Drive v3 compatible endpoint (an egress proxy, a restricted-VIP endpoint, an emulator), e.g. https://drive-proxy.internal/drive/v3/; https, or http on loopback only (user tokens travel with every call); empty: Google's")
	fs.DurationVar(&c.DrivePollInterval, "drive-poll-interval", c.DrivePollInterval, "with --drive: poll interval of a user's change feed while it covers watched files and sees changes")
	fs.DurationVar(&c.DrivePollMaxInterval, "drive-poll-max-interval", c.DrivePollMaxInterval, "with --drive: poll interval an idle feed grows to (x1.5 per poll without changes)")
	fs.DurationVar(&c.DriveRecheckInterval, "drive-recheck-interval", c.DriveRecheckInterval, "with --drive: poll interval of the feeds of watching users whose feed covers no watched file (another user's does), polled only to see that user lose access")
	fs.DurationVar(&c.DriveBackoffMax, "drive-backoff-max", c.DriveBackoffMax, "with --drive: cap of the exponential backoff (from 1s, with jitter) after Drive's rate limits or server errors")
	fs.DurationVar(&c.DriveMetaCache, "drive-meta-cache", c.DriveMetaCache, "with --drive: how long one user's file metadata answer (files.get) is reused")
	fs.DurationVar(&c.DriveListCache, "drive-list-cache", c.DriveListCache, "with --drive: how long one user's drive.list answer is reused")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "run the built-in example API, the demo page at / and the Zetkin PoC triggers")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")

	finish = func() error {
		c.AllowedOrigins = splitList(origins)
		c.MemberRoles = splitList(roles)
		c.PublishEvents = splitList(publishEvents)
		c.AdminUIOrigins = splitList(adminUIOrigins)
		var err error
		if c.TrustedProxies, err = clientlimits.ParseTrustedProxies(trustedProxies); err != nil {
			return fmt.Errorf("--trusted-proxies: %w", err)
		}
		c.OAuthScopes = splitList(scopes)
		if c.OrgIDFormat, err = orgid.ParseFormat(idFormat); err != nil {
			return fmt.Errorf("--org-id-format: %w", err)
		}
		return nil
	}
	return fs, finish
}

// ParseConfig reads flags from args, with environment variables (lookup) as defaults, and
// validates the result.
func ParseConfig(args []string, lookup func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	fs, finish := NewFlagSet(&c)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := lookup(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := finish(); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// EnvLookup is os.LookupEnv, for ParseConfig.
func EnvLookup(key string) (string, bool) { return os.LookupEnv(key) }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks the configuration; every problem is reported, each naming its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(flagName, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flagName, fmt.Sprintf(format, a...)))
	}
	if c.Upstream == "" && !c.Demo {
		bad("upstream", "required (or run with --demo)")
	}
	if c.Upstream != "" {
		u, err := url.Parse(c.Upstream)
		switch {
		case err != nil:
			bad("upstream", "%v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("upstream", "scheme must be http or https, got %q", u.Scheme)
		case u.Host == "":
			bad("upstream", "no host in %q", c.Upstream)
		case u.RawQuery != "" || u.Fragment != "":
			bad("upstream", "must not have a query or fragment")
		}
	}
	if !strings.HasPrefix(c.APIPrefix, "/") || strings.HasSuffix(c.APIPrefix, "/") || c.APIPrefix == "/socket.io" {
		bad("api-prefix", "must start with / and not end with / (got %q)", c.APIPrefix)
	}
	if err := validMembershipsPath(c.MembershipsPath); err != nil {
		bad("memberships-path", "%v", err)
	}
	if c.MembershipsList != "." {
		if err := validDottedPath(c.MembershipsList); err != nil {
			bad("memberships-list", "%v", err)
		}
	}
	if err := validDottedPath(c.MembershipsOrg); err != nil {
		bad("memberships-org", "%v", err)
	}
	if c.MembershipsRole != "" {
		if err := validDottedPath(c.MembershipsRole); err != nil {
			bad("memberships-role", "%v", err)
		}
	}
	if err := validNamespacePrefix(c.NamespacePrefix, c.APIPrefix); err != nil {
		bad("namespace-prefix", "%v", err)
	}
	if c.OrgIDFormat != orgid.Text && c.OrgIDFormat != orgid.Integer {
		bad("org-id-format", "must be text or integer")
	}
	if c.ReadyzProbePath != "" {
		if err := validProbePath(c.ReadyzProbePath); err != nil {
			bad("readyz-probe-path", "%v", err)
		}
	}
	for name, d := range map[string]time.Duration{
		"membership-ttl": c.MembershipTTL, "upstream-timeout": c.UpstreamTimeout, "shutdown-timeout": c.ShutdownTimeout,
		"ping-interval": c.PingInterval, "ping-timeout": c.PingTimeout,
		"upstream-idle-timeout": c.UpstreamIdleTimeout, "read-header-timeout": c.ReadHeaderTimeout, "idle-timeout": c.IdleTimeout,
	} {
		if d <= 0 {
			bad(name, "must be positive, got %s", d)
		}
	}
	if c.NodeLease < 0 {
		bad("node-lease", "must not be negative, got %s", c.NodeLease)
	}
	if c.RecoveryWindow < 0 {
		bad("recovery-window", "must not be negative, got %s", c.RecoveryWindow)
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "rediss://") {
		bad("redis", "must be a redis:// or rediss:// URL")
	}
	if err := c.validRedisModes(); err != nil { // redisclients.go
		bad(err.field, "%s", err.msg)
	}
	if (c.AdminUIUser == "") != (c.AdminUIPasswordHash == "") {
		bad("admin-ui-user", "--admin-ui-user and --admin-ui-password-hash go together")
	} else if c.AdminUIPasswordHash != "" {
		if _, err := bcrypt.Cost([]byte(c.AdminUIPasswordHash)); err != nil {
			bad("admin-ui-password-hash", "not a bcrypt hash ($2a$, $2b$ or $2y$): %v", err)
		}
	}
	if _, err := auth.NewOrigins(c.AdminUIOrigins); err != nil {
		bad("admin-ui-origins", "%v", err)
	}
	if c.ClientEventRate <= 0 {
		bad("client-event-rate", "must be positive")
	}
	if c.ClientEventBurst < 1 {
		bad("client-event-burst", "must be at least 1")
	}
	if _, _, err := clientlimits.ParseFailureRate(c.AdmissionFailuresPerIP); err != nil {
		bad("admission-failures-per-ip", "%v", err)
	}
	if c.MaxConnectionsPerIP < 0 {
		bad("max-connections-per-ip", "must be 0 (no limit) or more")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("admin-token", "must be at least 16 characters")
	}
	switch c.Auth {
	case "proxy":
	case "session":
		if c.OAuthClientID == "" {
			bad("oauth-client-id", "required with --auth session")
		}
		if c.OAuthRedirectURL == "" {
			bad("oauth-redirect-url", "required with --auth session")
		}
		if c.OAuthProvider != "google" && c.OAuthProvider != "generic" {
			bad("oauth-provider", "must be google or generic, got %q", c.OAuthProvider)
		}
		if c.OAuthProvider == "generic" && (c.OAuthAuthURL == "" || c.OAuthTokenURL == "") {
			bad("oauth-auth-url", "--oauth-auth-url and --oauth-token-url are required with --oauth-provider generic")
		}
	default:
		bad("auth", "must be proxy or session, got %q", c.Auth)
	}
	c.validateDrive(bad)
	if c.MaxPayload < 1024 {
		bad("max-payload", "must be at least 1024 bytes")
	}
	if c.MaxQueueBytes < 1024 {
		bad("max-queue-bytes", "must be at least 1024 bytes")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "must be text or json, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return errors.Join(errs...)
}

// validMembershipsPath: a path under --upstream, with at most one "{org}" (per-org mode)
// and no other braces, so the org ID lands in exactly one place.
func validMembershipsPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("must start with / (got %q)", p)
	}
	if n := strings.Count(p, "{org}"); n > 1 {
		return fmt.Errorf("{org} may appear once, got %q", p)
	}
	if strings.ContainsAny(strings.Replace(p, "{org}", "", 1), "{}") {
		return fmt.Errorf(`the only placeholder is {org}, got %q`, p)
	}
	if strings.ContainsAny(p, "?# \t") {
		return fmt.Errorf("must be a plain path, without query, fragment or spaces (got %q)", p)
	}
	return nil
}

// validDottedPath: keys separated by dots, none empty (organization.id).
func validDottedPath(p string) error {
	if p == "" {
		return errors.New("must not be empty")
	}
	for _, k := range strings.Split(p, ".") {
		if k == "" {
			return fmt.Errorf("empty key in %q (want keys separated by single dots, e.g. organization.id)", p)
		}
	}
	return nil
}

// validNamespacePrefix keeps namespace names plain: they end up in Redis keys, emitter
// channels (socket.io#NSP#) and Drive watcher IDs (NSP|sid), so a prefix is made of
// segments of [A-Za-z0-9_.~-] only, and it must not look like an HTTP route of the gateway.
func validNamespacePrefix(p, apiPrefix string) error {
	if !strings.HasPrefix(p, "/") || p == "/" || strings.HasSuffix(p, "/") {
		return fmt.Errorf(`must start with / and not end with / (got %q)`, p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("empty, . or .. segment in %q", p)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '~' || c == '-') {
				return fmt.Errorf("%q: only letters, digits, _ . ~ - and / (no {, :, #, |)", p)
			}
		}
	}
	for _, route := range []string{"/socket.io", apiPrefix} {
		if pathWithin(p, route) || pathWithin(route, p) {
			return fmt.Errorf("%q clashes with %s", p, route)
		}
	}
	return nil
}

// pathWithin reports whether p is route or a path below it.
func pathWithin(p, route string) bool {
	return route != "" && (p == route || strings.HasPrefix(p, route+"/"))
}

// validProbePath: a path (with an optional query) appended to --upstream.
func validProbePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("must start with / (got %q)", p)
	}
	u, err := url.Parse(p)
	if err != nil {
		return err
	}
	if u.Host != "" || u.Scheme != "" || u.Fragment != "" || strings.HasPrefix(p, "//") {
		return fmt.Errorf("must be a path relative to --upstream, got %q", p)
	}
	return nil
}

// validateDrive checks the Drive watcher's flags (used with --drive, checked always).
func (c Config) validateDrive(bad func(flagName, format string, a ...any)) {
	if c.DriveEndpoint != "" {
		if err := validDriveEndpoint(c.DriveEndpoint); err != nil {
			bad("drive-endpoint", "%v", err)
		}
	}
	for name, d := range map[string]time.Duration{
		"drive-poll-interval": c.DrivePollInterval, "drive-poll-max-interval": c.DrivePollMaxInterval,
		"drive-recheck-interval": c.DriveRecheckInterval, "drive-backoff-max": c.DriveBackoffMax,
		"drive-meta-cache": c.DriveMetaCache, "drive-list-cache": c.DriveListCache,
	} {
		if d <= 0 {
			bad(name, "must be positive, got %s", d)
		}
	}
	if c.DrivePollInterval > c.DrivePollMaxInterval {
		bad("drive-poll-interval", "%s exceeds --drive-poll-max-interval %s", c.DrivePollInterval, c.DrivePollMaxInterval)
	}
	if c.DriveBackoffMax > 0 && c.DriveBackoffMax < drive.DefaultBackoffBase {
		bad("drive-backoff-max", "must be at least the first backoff, %s (got %s)", drive.DefaultBackoffBase, c.DriveBackoffMax)
	}
}

// validDriveEndpoint: an absolute https URL, or http to a loopback host (an emulator on
// this machine): every call carries a user's Google token.
func validDriveEndpoint(e string) error {
	u, err := url.Parse(e)
	if err != nil {
		return err
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("want an absolute URL without query, fragment or user info, e.g. https://drive-proxy.internal/drive/v3/ (got %q)", e)
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); !(h == "localhost" || err == nil && ip.IsLoopback()) {
			return fmt.Errorf("http only to a loopback host (every call carries a user's token): use https for %q", u.Host)
		}
	default:
		return fmt.Errorf("scheme must be https (or http on loopback), got %q", u.Scheme)
	}
	return nil
}
