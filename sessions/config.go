package sessions

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/oauth2"

	"github.com/syncgate/syncgate/auth"
)

// Defaults for the zero values of Config.
const (
	DefaultCookieName    = "sg_session"
	DefaultIdleTTL       = 24 * time.Hour
	DefaultAbsoluteTTL   = 30 * 24 * time.Hour
	DefaultAnonymousTTL  = time.Hour
	DefaultStateTTL      = 10 * time.Minute
	DefaultLandingPath   = "/"
	DefaultGeneratePath  = "/api/generate_cookie"
	DefaultLoginPath     = "/auth/login"
	DefaultCallbackPath  = "/auth/callback"
	DefaultLogoutPath    = "/auth/logout"
	DefaultChannel       = "syncgate:sessions:end"
	DefaultSweepInterval = time.Minute
	DefaultRefreshEarly  = time.Minute
	DefaultHTTPTimeout   = 10 * time.Second
)

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("sessions: invalid config")

// OAuth is the identity provider: the oauth2 client configuration, the
// userinfo URL ("" skips userinfo) and extra authorization-URL parameters.
// Provider.OAuth builds one for Google or a generic provider.
type OAuth struct {
	Config      *oauth2.Config
	UserinfoURL string
	AuthOptions []oauth2.AuthCodeOption
}

// Config configures New. Zero values take the defaults noted.
type Config struct {
	Store Store // required; the Manager does not close it
	OAuth OAuth // Config required; RedirectURL must point at CallbackPath

	// CookieName defaults to "sg_session". In production prefer
	// "__Host-sg_session": browsers then refuse the cookie from sibling
	// subdomains, which could otherwise plant (toss) a session cookie.
	CookieName string
	Insecure   bool // drop the Secure attribute (local plain-HTTP development only)

	IdleTTL      time.Duration // a logged-in session unused this long ends; default 24h
	AnonymousTTL time.Duration // the same before login (bounds junk sessions); default 1h
	AbsoluteTTL  time.Duration // any session ends this long after creation; default 30 days
	StateTTL     time.Duration // a login must come back within this; default 10m

	LandingPath  string // where the callback redirects after login; a local path; default "/"
	GeneratePath string // default "/api/generate_cookie"
	LoginPath    string // default "/auth/login"
	CallbackPath string // default "/auth/callback"
	LogoutPath   string // default "/auth/logout"

	// CheckOrigin vets requests that change state with the session cookie
	// (generate_cookie, logout, mutating calls through RequireSession) and
	// socket handshakes (Admit). Default: (*auth.Origins)(nil).Allowed, the
	// same-host rule; pass an *auth.Origins' Allowed for an allowlist.
	CheckOrigin func(*http.Request) error

	// Redis, if set, carries end-of-session notices between nodes (pub/sub on
	// Channel, default "syncgate:sessions:end"). Nil: this node only.
	Redis   redis.UniversalClient
	Channel string

	SweepInterval time.Duration // re-check of sessions with sockets on this node; default 1m
	RefreshEarly  time.Duration // refresh an access token this long before it expires; default 1m
	HTTPClient    *http.Client  // token and userinfo calls; default: 10s timeout, no redirects to other hosts
	Now           func() time.Time
	Logger        *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, fmt.Errorf("%w: Store is required", ErrConfig)
	}
	if c.OAuth.Config == nil {
		return c, fmt.Errorf("%w: OAuth.Config is required", ErrConfig)
	}
	if c.OAuth.Config.RedirectURL == "" {
		return c, fmt.Errorf("%w: OAuth.Config.RedirectURL is required", ErrConfig)
	}
	setDefault(&c.CookieName, DefaultCookieName)
	if !httpguts.IsTokenRune(rune(c.CookieName[0])) || strings.IndexFunc(c.CookieName, func(r rune) bool { return !httpguts.IsTokenRune(r) }) >= 0 {
		return c, fmt.Errorf("%w: CookieName %q is not a valid cookie name", ErrConfig, c.CookieName)
	}
	if c.Insecure && (strings.HasPrefix(c.CookieName, "__Host-") || strings.HasPrefix(c.CookieName, "__Secure-")) {
		return c, fmt.Errorf("%w: CookieName %q needs Secure cookies: browsers drop it with Insecure", ErrConfig, c.CookieName)
	}
	setDefault(&c.IdleTTL, DefaultIdleTTL)
	setDefault(&c.AnonymousTTL, DefaultAnonymousTTL)
	setDefault(&c.AbsoluteTTL, DefaultAbsoluteTTL)
	setDefault(&c.StateTTL, DefaultStateTTL)
	setDefault(&c.SweepInterval, DefaultSweepInterval)
	setDefault(&c.RefreshEarly, DefaultRefreshEarly)
	setDefault(&c.Channel, DefaultChannel)
	setDefault(&c.LandingPath, DefaultLandingPath)
	setDefault(&c.GeneratePath, DefaultGeneratePath)
	setDefault(&c.LoginPath, DefaultLoginPath)
	setDefault(&c.CallbackPath, DefaultCallbackPath)
	setDefault(&c.LogoutPath, DefaultLogoutPath)
	if err := checkLocalPath(c.LandingPath); err != nil {
		return c, fmt.Errorf("%w: LandingPath: %w", ErrConfig, err)
	}
	seen := map[string]bool{}
	for _, p := range []string{c.GeneratePath, c.LoginPath, c.CallbackPath, c.LogoutPath} {
		if err := checkLocalPath(p); err != nil {
			return c, fmt.Errorf("%w: route: %w", ErrConfig, err)
		}
		if seen[p] {
			return c, fmt.Errorf("%w: route %q used twice", ErrConfig, p)
		}
		seen[p] = true
	}
	if c.CheckOrigin == nil {
		var sameHost *auth.Origins
		c.CheckOrigin = sameHost.Allowed
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout, CheckRedirect: sameHostRedirects}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// checkLocalPath accepts only a plain absolute path on this host: "//evil",
// "/\evil", schemes, queries and control characters could redirect a
// browser elsewhere.
func checkLocalPath(p string) error {
	u, err := url.Parse(p)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %w", p, err)
	case !strings.HasPrefix(p, "/"), strings.HasPrefix(p, "//"), strings.ContainsAny(p, "\\?#"),
		strings.IndexFunc(p, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0,
		u.Scheme != "", u.Host != "":
		return fmt.Errorf("%q must be a plain local path starting with a single /", p)
	}
	return nil
}

// sameHostRedirects stops a token or userinfo call from following a
// redirect to another host with the client's credentials.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("sessions: too many redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("sessions: redirect to another host %q refused", req.URL.Host)
	}
	return nil
}
