package drive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
	drivev3 "google.golang.org/api/drive/v3"
)

// Defaults for the zero values of Config, chosen for production: they keep
// far below Drive's default quota of 12,000 requests per minute.
const (
	DefaultGlobalRate      = 100 // requests per second to Google, all users together
	DefaultGlobalBurst     = 20
	DefaultPerUserRate     = 5 // requests per second of one user
	DefaultPerUserBurst    = 10
	DefaultMaxConcurrent   = 16
	DefaultMinInterval     = 3 * time.Second
	DefaultMaxInterval     = 30 * time.Second
	DefaultIdleGrowth      = 1.5
	DefaultRecheckInterval = 5 * time.Minute
	DefaultBackoffBase     = time.Second
	DefaultBackoffMax      = 64 * time.Second
	DefaultMaxAttempts     = 4
	DefaultCallTimeout     = 20 * time.Second
	DefaultPageSize        = 1000
	DefaultMaxPages        = 20
	DefaultMetaTTL         = 15 * time.Second
	DefaultListTTL         = 30 * time.Second
	DefaultListSize        = 20
	DefaultMaxFiles        = 100
	DefaultLeaseTTL        = 15 * time.Second
	DefaultRedisPrefix     = "syncgate:drive:"
)

// Config configures New. Only the zero-value fields get defaults.
type Config struct {
	// NewService builds the Drive client of one user from its token
	// source. Default: drivev3.NewService with option.WithTokenSource.
	// Tests pass EndpointService(fake.Endpoint(), nil).
	NewService func(ctx context.Context, ts oauth2.TokenSource) (*drivev3.Service, error)
	// Changed reports a new version of a watched file, once per scope that
	// watches it (once across all nodes with Redis). It is called from one
	// goroutine, in order, never with a lock held.
	Changed func(scope, fileID string, version int64)
	// Lost reports that a watch ended without Unwatch: the user's grant was
	// revoked or expired (err wraps ErrRevoked), the token lost its Drive
	// scope (ErrForbidden), or the user lost access to the file
	// (ErrNotFound). Called from the same goroutine as Changed.
	Lost func(watcherID, fileID string, err error)
	// IsRevoked tells which errors of a token source mean the grant is gone
	// for good (for example the session ended), besides an oauth2
	// RetrieveError with invalid_grant, 400 or 401, which always does.
	IsRevoked func(error) bool

	GlobalRate    rate.Limit // requests per second, all users together
	GlobalBurst   int
	PerUserRate   rate.Limit // requests per second of one user
	PerUserBurst  int
	MaxConcurrent int // requests to Google in flight at once

	MinInterval     time.Duration // poll interval of an active covering feed
	MaxInterval     time.Duration // poll interval an idle covering feed grows to
	IdleGrowth      float64       // factor of growth per idle poll (> 1)
	RecheckInterval time.Duration // poll interval of feeds that cover no file

	BackoffBase time.Duration // first backoff after a rate-limit or server error
	BackoffMax  time.Duration // backoff cap (truncation)
	MaxAttempts int           // attempts of a Watch or List call
	CallTimeout time.Duration // one request

	PageSize int64 // changes per changes.list page asked for
	MaxPages int   // pages followed per poll before yielding

	MetaTTL            time.Duration // cache of one user's files.get answers
	ListTTL            time.Duration // cache of one user's List
	ListSize           int64         // files returned by List
	MaxFilesPerWatcher int           // files one watcher may watch at once

	// Redis, when set, shares feeds between nodes (leases, page tokens,
	// Pub/Sub of changes, per-scope claims). NodeID names this node
	// (default: random); it must differ between nodes.
	Redis       redis.UniversalClient
	RedisPrefix string
	NodeID      string
	LeaseTTL    time.Duration // lease expiry; renewed every LeaseTTL/3

	Logger *slog.Logger
}

// withDefaults returns c with defaults in its zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.NewService == nil {
		c.NewService = DefaultService
	}
	if c.Changed == nil {
		c.Changed = func(string, string, int64) {}
	}
	if c.Lost == nil {
		c.Lost = func(string, string, error) {}
	}
	setDefault(&c.GlobalRate, DefaultGlobalRate)
	setDefault(&c.GlobalBurst, DefaultGlobalBurst)
	setDefault(&c.PerUserRate, DefaultPerUserRate)
	setDefault(&c.PerUserBurst, DefaultPerUserBurst)
	setDefault(&c.MaxConcurrent, DefaultMaxConcurrent)
	setDefault(&c.MinInterval, DefaultMinInterval)
	setDefault(&c.MaxInterval, DefaultMaxInterval)
	setDefault(&c.IdleGrowth, DefaultIdleGrowth)
	setDefault(&c.RecheckInterval, DefaultRecheckInterval)
	setDefault(&c.BackoffBase, DefaultBackoffBase)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.MaxAttempts, DefaultMaxAttempts)
	setDefault(&c.CallTimeout, DefaultCallTimeout)
	setDefault(&c.PageSize, DefaultPageSize)
	setDefault(&c.MaxPages, DefaultMaxPages)
	setDefault(&c.MetaTTL, DefaultMetaTTL)
	setDefault(&c.ListTTL, DefaultListTTL)
	setDefault(&c.ListSize, DefaultListSize)
	setDefault(&c.MaxFilesPerWatcher, DefaultMaxFiles)
	setDefault(&c.LeaseTTL, DefaultLeaseTTL)
	setDefault(&c.RedisPrefix, DefaultRedisPrefix)
	if c.NodeID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		c.NodeID = hex.EncodeToString(b)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.MinInterval > c.MaxInterval:
		return c, errors.New("drive: MinInterval exceeds MaxInterval")
	case c.IdleGrowth <= 1:
		return c, errors.New("drive: IdleGrowth must exceed 1")
	case c.BackoffBase > c.BackoffMax:
		return c, errors.New("drive: BackoffBase exceeds BackoffMax")
	case c.PageSize > 1000:
		return c, errors.New("drive: PageSize exceeds Google's 1000")
	}
	return c, nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
