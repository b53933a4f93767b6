package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/proxy"
)

// metrics are the gateway's Prometheus metrics, served at /metrics on the admin listener.
// Labels are bounded: transports, results, status classes, and event names from the
// trigger file; never org or user IDs.
type metrics struct {
	reg           *prometheus.Registry
	admissions    *prometheus.CounterVec
	proxyReqs     *prometheus.CounterVec
	proxyLatency  *prometheus.HistogramVec
	memberCalls   prometheus.Histogram
	eventsFired   *prometheus.CounterVec
	eventsRefused *prometheus.CounterVec
	unmatched     prometheus.Counter
	// reloadFailures counts trigger file reloads (SIGHUP) that kept the old triggers.
	reloadFailures prometheus.Counter
}

func newMetrics(g *Gateway) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, v)
	}
	gauge := func(name, help string, labels prometheus.Labels, v func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, v)
	}
	m.admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncgate_admissions_total", Help: "Namespace joins by result (admitted, unauthorized, forbidden, unavailable, rate_limited).",
	}, []string{"result"})
	m.proxyReqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncgate_proxy_requests_total", Help: "Proxied API calls by method and status class.",
	}, []string{"method", "status"})
	m.proxyLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "syncgate_proxy_request_seconds", Help: "Time to answer a proxied API call, upstream included.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"method"})
	m.memberCalls = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "syncgate_membership_upstream_seconds", Help: "Latency of upstream membership calls.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	m.eventsFired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncgate_events_fired_total", Help: "Events published, by event name (triggers and the publish API).",
	}, []string{"event"})
	m.eventsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncgate_events_refused_total", Help: "Fired events not sent because the caller may not fire into the org from a header (not_member, unavailable).",
	}, []string{"reason"})
	m.unmatched = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "syncgate_unmatched_mutations_total", Help: "Successful mutating calls that fired no trigger.",
	})
	m.reloadFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "syncgate_config_reload_failures_total", Help: "Trigger file reloads (SIGHUP) that failed and kept the triggers in force.",
	})
	m.reg.MustRegister(m.reloadFailures)
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncgate_config_reload_failing", Help: "1 while the last trigger file reload (SIGHUP) failed and the previous triggers stay in force; 0 otherwise.",
	}, func() float64 {
		if g.reload.lastFailure() != nil {
			return 1
		}
		return 0
	}))
	for _, reason := range auth.ErrorReasons {
		// Every reason from the start at 0, so a rate() alert sees its first error.
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "syncgate_membership_errors_total",
			Help:        "Membership upstream answers that were no definite answer, by reason (unreachable, status, bad_body, contract).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(g.members.Stats().Errors[reason]) }))
	}
	st := func() *namespaces.Stats { return g.sio.Stats() }
	ms := func(pick func() uint64) func() float64 { return func() float64 { return float64(pick()) } }
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.admissions, m.proxyReqs, m.proxyLatency, m.memberCalls, m.eventsFired, m.eventsRefused, m.unmatched,
		gauge("syncgate_connections", "Open Engine.IO connections by transport.", prometheus.Labels{"transport": engineio.WebSocket},
			func() float64 { return float64(g.sio.CountByTransport()[engineio.WebSocket]) }),
		gauge("syncgate_connections", "Open Engine.IO connections by transport.", prometheus.Labels{"transport": engineio.Polling},
			func() float64 { return float64(g.sio.CountByTransport()[engineio.Polling]) }),
		gauge("syncgate_orgs_with_sockets", "Org namespaces with at least one socket on this node.", nil,
			func() float64 { return float64(len(g.sio.Namespaces())) }),
		f("syncgate_membership_cache_hits_total", "Membership checks answered from the cache.", ms(func() uint64 { return g.members.Stats().CacheHits })),
		f("syncgate_membership_upstream_calls_total", "Membership calls sent upstream (cache misses and re-checks).", ms(func() uint64 { return g.members.Stats().UpstreamCalls })),
		f("syncgate_revocations_total", "Sockets disconnected because their membership was revoked.", ms(func() uint64 { return g.members.Stats().Revoked })),
		f("syncgate_broadcasts_total", "Broadcasts delivered on this node.", func() float64 { return float64(st().Broadcasts.Load()) }),
		f("syncgate_deliveries_total", "Events queued to sockets on this node.", func() float64 { return float64(st().Deliveries.Load()) }),
		f("syncgate_resyncs_total", "resync events sent to sockets.", func() float64 { return float64(st().Resyncs.Load()) }),
		f("syncgate_recoveries_total", "Reconnecting sockets that recovered every missed event.", func() float64 { return float64(st().Recoveries.Load()) }),
		f("syncgate_recovery_failures_total", "Reconnecting sockets told to resync instead.", func() float64 { return float64(st().RecoveryFailures.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncgate_connections_closed_by_limit_total", Help: "Connections closed by an admission limit, by limit.", ConstLabels: prometheus.Labels{"limit": "admission_failures"}},
			func() float64 { return float64(st().ClosedAdmitFailures.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncgate_connections_closed_by_limit_total", Help: "Connections closed by an admission limit, by limit.", ConstLabels: prometheus.Labels{"limit": "pending_bytes"}},
			func() float64 { return float64(st().ClosedOverBudget.Load()) }),
		f("syncgate_client_events_relayed_total", "Client events relayed.", func() float64 { return float64(g.clientStats.Relayed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncgate_client_events_dropped_total", Help: "Client events dropped, by reason.", ConstLabels: prometheus.Labels{"reason": "undeclared"}},
			func() float64 { return float64(g.clientStats.Undeclared.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncgate_client_events_dropped_total", Help: "Client events dropped, by reason.", ConstLabels: prometheus.Labels{"reason": "malformed"}},
			func() float64 { return float64(g.clientStats.Malformed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncgate_client_events_dropped_total", Help: "Client events dropped, by reason.", ConstLabels: prometheus.Labels{"reason": "rate_limited"}},
			func() float64 { return float64(g.clientStats.RateLimited.Load()) }),
		gauge("syncgate_publish_queue_length", "Fired events waiting to be published (off the request path, in order per org).", nil,
			func() float64 {
				return float64(g.pubqStat(func(q *proxy.PublishQueue) int64 { return int64(q.Len()) }))
			}),
		f("syncgate_publish_retries_total", "Publishes of fired events tried again after a failure.",
			func() float64 {
				return float64(g.pubqStat(func(q *proxy.PublishQueue) int64 { return q.Stats().Retries.Load() }))
			}),
		f("syncgate_publish_failures_total", "Fired events given up after every try failed (logged).",
			func() float64 {
				return float64(g.pubqStat(func(q *proxy.PublishQueue) int64 { return q.Stats().Failed.Load() }))
			}),
		gauge("syncgate_fanout_ready", "1 when broadcasts reach every node (Redis connected, nothing queued); always 1 on a single node.", nil,
			func() float64 {
				if g.sio.Adapter().Ready() {
					return 1
				}
				return 0
			}),
	)
	return m
}

// pubqStat reads a figure of the publish queue (0 before New has made it).
func (g *Gateway) pubqStat(v func(*proxy.PublishQueue) int64) int64 {
	if g.pubq == nil {
		return 0
	}
	return v(g.pubq)
}

// registerAdapter adds the Redis adapter's counters, when it is in use.
func (m *metrics) registerAdapter(g *Gateway) {
	f := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, v)
	}
	if ra, ok := g.sio.Adapter().(*fanout.Redis); ok {
		rs := ra.Stats()
		m.reg.MustRegister(
			f("syncgate_redis_publish_failures_total", "Broadcasts Redis did not take at once (delivered locally, queued).", func() float64 { return float64(rs.PublishFailures.Load()) }),
			f("syncgate_redis_replayed_total", "Queued broadcasts written to Redis after an outage.", func() float64 { return float64(rs.Replayed.Load()) }),
			f("syncgate_redis_reconnects_total", "Times the Redis bus reader recovered from an error.", func() float64 { return float64(rs.Reconnects.Load()) }),
			f("syncgate_redis_nodes_lost_total", "Other nodes this node declared lost (lease expired without goodbye; every socket resyncs).", func() float64 { return float64(rs.NodesLost.Load()) }),
			f("syncgate_redis_received_total", "Broadcasts from other nodes this node read from Redis.", func() float64 { return float64(rs.Received.Load()) }),
		)
	}
	if c, ok := g.sio.Adapter().(*fanout.Cluster); ok {
		m.registerCluster(c) // redisclients.go
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// instrument counts proxied calls by method and status class, and their latency.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = "OTHER"
		}
		m.proxyReqs.WithLabelValues(method, strconv.Itoa(sw.status/100)+"xx").Inc()
		m.proxyLatency.WithLabelValues(method).Observe(time.Since(start).Seconds())
	})
}

// statusWriter records the status code; it keeps http.Flusher for streamed responses.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// timedTransport measures upstream membership calls.
type timedTransport struct {
	next http.RoundTripper
	obs  prometheus.Observer
}

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.obs.Observe(time.Since(start).Seconds())
	return resp, err
}
