package gateway

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/namespaces"
)

// The three ways to reach Redis: --redis (one server), --redis-sentinel (a primary that
// Sentinels name, same engine), --redis-cluster (a Redis Cluster, fanout.Cluster).

type redisModeError struct{ field, msg string }

// validRedisModes checks that at most one of --redis, --redis-sentinel and --redis-cluster is
// set, and their shapes.
func (c Config) validRedisModes() *redisModeError {
	n := 0
	for _, v := range []string{c.Redis, c.RedisSentinel, c.RedisCluster} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return &redisModeError{"redis-cluster", "--redis, --redis-sentinel and --redis-cluster exclude each other: give one"}
	}
	if c.RedisSentinel != "" {
		master, addrs, ok := strings.Cut(c.RedisSentinel, "@")
		if !ok || master == "" || strings.Trim(addrs, ", ") == "" {
			return &redisModeError{"redis-sentinel", "want MASTER@HOST:PORT[,HOST:PORT...]"}
		}
	}
	if c.RedisCluster != "" {
		rdb, err := fanout.NewClusterClient(c.RedisCluster, "", "")
		if err != nil {
			return &redisModeError{"redis-cluster", err.Error()}
		}
		_ = rdb.Close()
	}
	return nil
}

// anyRedis reports whether the nodes share a Redis of any kind (sessions need no more).
func (c Config) anyRedis() bool { return c.singleRedis() || c.RedisCluster != "" }

// singleRedis reports whether the single-Redis engine is in use (--redis or --redis-sentinel).
func (c Config) singleRedis() bool { return c.Redis != "" || c.RedisSentinel != "" }

// newRedisClient returns a client of the single-Redis engine: --redis exactly as before, or
// the Sentinel-named primary; --redis-username/--redis-password override the URL's.
func newRedisClient(cfg Config) (redis.UniversalClient, error) {
	if cfg.RedisSentinel != "" {
		master, addrs, _ := strings.Cut(cfg.RedisSentinel, "@")
		var sentinels []string
		for _, a := range strings.Split(addrs, ",") {
			if a = strings.TrimSpace(a); a != "" {
				sentinels = append(sentinels, a)
			}
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:    master,
			SentinelAddrs: sentinels,
			Username:      cfg.RedisUsername,
			Password:      cfg.RedisPassword,
			PoolSize:      4, // as ParseRedisURL: constant per node
			MaxRetries:    1,
			DialTimeout:   2 * time.Second,
		}), nil
	}
	if cfg.RedisUsername == "" && cfg.RedisPassword == "" {
		return fanout.ParseRedisURL(cfg.Redis)
	}
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	if cfg.RedisUsername != "" {
		opt.Username = cfg.RedisUsername
	}
	if cfg.RedisPassword != "" {
		opt.Password = cfg.RedisPassword
	}
	opt.PoolSize, opt.MaxRetries, opt.DialTimeout = 4, 1, 2*time.Second
	return redis.NewClient(opt), nil
}

// newFanoutAdapter returns the engine the configuration asks for, or nil (in memory).
func newFanoutAdapter(cfg Config, m *metrics, log *slog.Logger) (namespaces.Adapter, error) {
	switch {
	case cfg.RedisCluster != "":
		rdb, err := fanout.NewClusterClient(cfg.RedisCluster, cfg.RedisUsername, cfg.RedisPassword)
		if err != nil {
			return nil, fmt.Errorf("--redis-cluster: %w", err)
		}
		return fanout.NewCluster(fanout.ClusterOptions{
			Client:         rdb,
			RecoveryWindow: cfg.RecoveryWindow,
			NodeLease:      cfg.NodeLease,
			OnPublish:      m.shardPublishObserver(),
			Logger:         log,
		}), nil
	case cfg.singleRedis():
		rdb, err := newRedisClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		return fanout.NewRedis(fanout.RedisOptions{
			Client:         rdb,
			RecoveryWindow: cfg.RecoveryWindow,
			NodeLease:      cfg.NodeLease,
			Logger:         log,
		}), nil
	}
	return nil, nil
}

// shardPublishObserver registers the per-shard publish latency of --redis-cluster.
func (m *metrics) shardPublishObserver() func(shard string, d time.Duration) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "syncgate_redis_publish_seconds", Help: "Time to write one broadcast to Redis Cluster, by the master (shard) that took it.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"shard"})
	m.reg.MustRegister(h)
	return func(shard string, d time.Duration) { h.WithLabelValues(shard).Observe(d.Seconds()) }
}

// registerCluster adds fanout.Cluster's counters.
func (m *metrics) registerCluster(c *fanout.Cluster) {
	cs := c.Stats()
	f := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	m.reg.MustRegister(
		f("syncgate_redis_received_total", "Broadcasts this node read from Redis (with --redis-cluster: only the orgs it has sockets in).", &cs.Received),
		f("syncgate_redis_caught_up_total", "Of those, read from an org's log after a gap or a lost subscription.", &cs.CaughtUp),
		f("syncgate_redis_publish_failures_total", "Broadcasts Redis did not take at once (delivered locally, queued).", &cs.PublishFailures),
		f("syncgate_redis_replayed_total", "Queued broadcasts written to Redis after an outage.", &cs.Replayed),
		f("syncgate_redis_reconnects_total", "Times a Redis Cluster subscription connection was re-made after an error.", &cs.Reconnects),
		f("syncgate_redis_nodes_lost_total", "Other nodes this node declared lost (lease expired without goodbye; every socket resyncs).", &cs.NodesLost),
		f("syncgate_redis_resyncs_total", "Resync notices issued because events could not be proven delivered.", &cs.Resyncs),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncgate_redis_subscriptions", Help: "Orgs (namespaces) this node reads from Redis Cluster now."},
			func() float64 { return float64(cs.Subscriptions.Load()) }),
	)
}
