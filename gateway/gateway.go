package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
	drivev3 "google.golang.org/api/drive/v3"

	"github.com/syncgate/syncgate/adminui"
	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/clientlimits"
	"github.com/syncgate/syncgate/coalesce"
	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/orgid"
	"github.com/syncgate/syncgate/proxy"
	"github.com/syncgate/syncgate/sessions"
	"github.com/syncgate/syncgate/tracing"
	"github.com/syncgate/syncgate/triggers"
)

// EventRevoked is emitted to a socket just before it is disconnected because its
// membership was revoked; its payload is {"reason": "forbidden"|"unauthorized"}.
const EventRevoked = "revoked"

// Gateway is one syncgate node: proxy, triggers, Socket.IO server and admission.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	ids      orgid.Format // --org-id-format
	nsPrefix string       // --namespace-prefix: an org's namespace is nsPrefix + "/" + ID
	sio      *namespaces.Server
	members  *auth.Memberships
	origins  *auth.Origins
	failures *clientlimits.Failures // --admission-failures-per-ip; nil: off
	triggers atomic.Pointer[triggers.Set]
	proxy    http.Handler
	// pubq takes fired events off the request path (ordered per org, retried); coalescer
	// merges bursts of triggers with coalesce:. Close flushes both, in that order.
	pubq      *proxy.PublishQueue
	coalescer *coalesce.Coalescer
	extra     http.Handler // mounted at "/" (the demo page), may be nil

	clientStats  ClientEventStats
	metrics      *metrics
	probe        *upstreamProbe
	reload       reloadState // the last SIGHUP reload of the trigger file
	started      time.Time
	stopAnnounce context.CancelFunc
	draining     atomic.Bool
	unmatched    unmatchedTable
	sessions     *sessions.Manager // session mode only
	sessStore    sessions.Store
	drive        *drive.Watcher        // --drive only
	adminUI      *adminui.Server       // the Socket.IO Admin UI on the admin listener (adminui.go)
	rdb          redis.UniversalClient // sessions and Drive (the adapter has its own); closed by Close
	tracing      *tracing.Provider     // OpenTelemetry (tracing.go); nil: off
}

// redisClient returns the gateway's Redis client for sessions and Drive, made on first use.
// The fan-out adapter keeps its own: its blocking bus reader must not wait behind them.
func (g *Gateway) redisClient() (redis.UniversalClient, error) {
	if g.rdb == nil && g.cfg.RedisCluster != "" {
		// Sessions keep single-key records and one pub/sub channel: a cluster carries both.
		rdb, err := fanout.NewClusterClient(g.cfg.RedisCluster, g.cfg.RedisUsername, g.cfg.RedisPassword)
		if err != nil {
			return nil, fmt.Errorf("--redis-cluster: %w", err)
		}
		g.rdb = rdb
	}
	if g.rdb == nil {
		rdb, err := newRedisClient(g.cfg)
		if err != nil {
			return nil, err
		}
		g.rdb = rdb
	}
	return g.rdb, nil
}

// Options are the parts of a gateway that are not configuration values.
type Options struct {
	Triggers *triggers.Set      // the loaded trigger set (nil: none)
	Adapter  namespaces.Adapter // nil: in-memory, single node
	Root     http.Handler       // served at "/" (the demo page), nil: 404
	Logger   *slog.Logger
	// DriveService builds a user's Drive client (--drive); nil: Google's. Tests point it
	// at a fake Drive with drive.EndpointService.
	DriveService func(ctx context.Context, ts oauth2.TokenSource) (*drivev3.Service, error)
	// Tracing is OpenTelemetry from the OTEL_* environment (tracing.FromEnv); nil: off.
	Tracing *tracing.Provider
}

// New builds a gateway from a validated configuration.
func New(cfg Config, opts Options) (g *Gateway, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	up, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("gateway: upstream: %w", err)
	}
	g = &Gateway{cfg: cfg, log: log, extra: opts.Root, ids: cfg.OrgIDFormat, nsPrefix: cfg.NamespacePrefix, tracing: opts.Tracing}
	g.triggers.Store(opts.Triggers)
	g.reload.summary = summarizeTriggerFile(cfg.Triggers, opts.Triggers)
	g.metrics = newMetrics(g)

	built := g
	defer func() {
		if err != nil && built.rdb != nil { // a failed New leaves no Redis client open
			_ = built.rdb.Close()
		}
	}()
	if g.origins, err = auth.NewOrigins(cfg.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("gateway: --allowed-origins: %w", err)
	}
	var memberTransport http.RoundTripper = timedTransport{http.DefaultTransport, g.metrics.memberCalls}
	if cfg.Auth == "session" {
		if g.sessions, g.sessStore, err = newSessions(cfg, g.origins, g); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		memberTransport = sessionAuthTransport{next: memberTransport, m: g.sessions, log: log}
	}
	g.members, err = auth.NewMemberships(auth.MembershipsConfig{
		URL:    strings.TrimSuffix(cfg.Upstream, "/") + cfg.MembershipsPath,
		Roles:  cfg.MemberRoles,
		TTL:    cfg.MembershipTTL,
		Logger: log,
		Client: &http.Client{Transport: memberTransport},
		// The contract of the memberships answer; "" fields take auth's defaults (a role
		// path is read in list mode only unless --memberships-role names one).
		ListPath: cfg.MembershipsList,
		OrgPath:  cfg.MembershipsOrg,
		RolePath: cfg.MembershipsRole,
		IDs:      cfg.OrgIDFormat,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: memberships: %w", err)
	}
	if limit, burst, _ := clientlimits.ParseFailureRate(cfg.AdmissionFailuresPerIP); limit > 0 {
		if g.failures, err = clientlimits.NewFailures(limit, burst, 0); err != nil {
			g.members.Close()
			return nil, fmt.Errorf("gateway: --admission-failures-per-ip: %w", err)
		}
	}
	g.pubq = proxy.NewPublishQueue(g, proxy.QueueOptions{Logger: log, GaveUp: g.resyncUnpublished})
	g.proxy, err = proxy.New(proxy.Config{
		Upstream:        up,
		Prefix:          cfg.APIPrefix,
		Timeout:         cfg.UpstreamTimeout,
		IdleConnTimeout: cfg.UpstreamIdleTimeout,
		Triggers:        g.triggers.Load,
		Publisher:       g.pubq,
		Rewrite:         g.tracedRewrite(g.rewriteFor(cfg)),
		Logger:          log,
		OnUnmatched:     g.noteUnmatched,
		Tracing:         opts.Tracing,
	})
	if err != nil {
		g.members.Close()
		return nil, fmt.Errorf("gateway: proxy: %w", err)
	}
	g.proxy = g.tracing.Handler(g.proxy) // a server span per proxied call (tracing on)
	adapter := opts.Adapter
	if adapter == nil { // --redis, --redis-sentinel or --redis-cluster (redisclients.go)
		if adapter, err = newFanoutAdapter(cfg, g.metrics, log); err != nil {
			g.members.Close()
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	// --max-connections-per-ip / --trusted-proxies: a client IP's sessions are capped (429).
	trusted := cfg.TrustedProxies
	conns := clientlimits.NewConns(clientlimits.ConnsConfig{Max: cfg.MaxConnectionsPerIP, ProxiesTrusted: len(trusted) > 0, Logger: log})
	if cfg.MaxConnectionsPerIP > 0 && len(trusted) == 0 {
		log.Warn("--max-connections-per-ip counts peer addresses, no --trusted-proxies is set: behind a proxy or load balancer every client shares its address; list it in --trusted-proxies",
			"max_connections_per_ip", cfg.MaxConnectionsPerIP)
	}
	g.sio = namespaces.NewServer(namespaces.Options{
		Engine: engineio.Options{
			PingInterval:  cfg.PingInterval,
			PingTimeout:   cfg.PingTimeout,
			MaxPayload:    cfg.MaxPayload,
			MaxQueueBytes: cfg.MaxQueueBytes,
			AllowRequest:  g.allowRequestFor(cfg),
			ClientIP:      func(r *http.Request) netip.Addr { return clientlimits.ClientIP(r, trusted) },
			AcquireSlot:   conns.Acquire,
		},
		Adapter:        adapter,
		RecoveryWindow: cfg.RecoveryWindow,
		Logger:         log,
	})
	g.metrics.registerAdapter(g)
	if err := g.newDrive(cfg, opts); err != nil {
		_ = g.sio.Close()
		g.members.Close()
		return nil, fmt.Errorf("gateway: --drive: %w", err)
	}
	g.probe = newUpstreamProbe(cfg.Upstream, cfg.ReadyzProbePath, log)
	g.started = time.Now().UTC()
	var actx context.Context
	actx, g.stopAnnounce = context.WithCancel(context.Background())
	go g.announce(actx)
	g.sio.Handle(namespaces.Handler{
		Match:       g.isOrgNamespace,
		Admit:       g.admit,
		OnConnect:   g.onConnect,
		OnEvent:     g.onClientEvent,
		RecoverRoom: g.recoverRoom,
	})
	if err := g.newAdminUI(cfg); err != nil { // starts nothing: no cleanup if it fails
		g.stopAnnounce()
		if g.drive != nil {
			_ = g.drive.Close()
		}
		_ = g.sio.Close()
		g.members.Close()
		return nil, err
	}
	g.coalescer = coalesce.New(g.deliverCoalesced, coalesce.Options{}) // last: no goroutine leaks on an error return
	return g, nil
}

// Handler returns the gateway's HTTP routes.
func (g *Gateway) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	r.Get("/readyz", g.readyz)
	r.Handle("/socket.io/", g.sio)
	callerOf := func(h http.Header) auth.Credentials { return auth.CredentialsFromHeader(h, "") }
	if g.sessions != nil {
		callerOf = g.sessionCredentials // the session, whatever other cookies the page has
	}
	api := originator(g.proxy, callerOf)
	if g.sessions != nil {
		for _, rt := range g.sessions.Routes() {
			r.Method(rt.Method, rt.Path, rt.Handler)
		}
		api = g.sessions.RequireSession(api)
	}
	r.Handle(g.cfg.APIPrefix+"/*", g.metrics.instrument(api))
	if g.extra != nil {
		r.Handle("/*", g.extra)
	}
	return r
}

// Sockets returns the Socket.IO server (tests and tools read its namespaces).
func (g *Gateway) Sockets() *namespaces.Server { return g.sio }

// SetTriggers replaces the trigger set atomically.
func (g *Gateway) SetTriggers(s *triggers.Set) { g.triggers.Store(s) }

// Close disconnects every socket and stops background work.
func (g *Gateway) Close() error {
	// Events of calls that already answered go out before anything closes: the queue first
	// (it may still feed the coalescer), then the coalescer's pending bursts. What cannot
	// be published in time is abandoned loudly: the lease expires and every node resyncs.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := g.pubq.Flush(ctx); err != nil {
		g.log.Error("events not published before shutdown; other nodes will resync", "err", err)
		g.Abandon()
	}
	cancel()
	g.coalescer.Close()
	g.stopAnnounce()
	if g.drive != nil {
		_ = g.drive.Close()
	}
	_ = g.adminUI.Close() // before the public server: no observer outlives it
	err := g.sio.Close()
	g.members.Close()
	if g.sessions != nil {
		_ = g.sessions.Close()
		_ = g.sessStore.Close()
	}
	if g.rdb != nil {
		_ = g.rdb.Close()
	}
	return err
}

// Publish sends one fired trigger to its org namespace on every node. It implements
// proxy.Publisher: this is where an HTTP mutation becomes a Socket.IO event.
func (g *Gateway) Publish(ctx context.Context, ev triggers.Event) error {
	ctx, span := g.startPublish(ctx, ev)
	defer span.End()
	if !g.ids.Valid(ev.Org) {
		// No socket can be in a namespace whose ID is not canonical in --org-id-format
		// (the trigger file and the flag disagree): say so rather than fire into nothing.
		g.log.Warn("event not published: org ID is not valid in --org-id-format", "org", ev.Org, "event", ev.Name, "org_id_format", g.ids.String())
		return nil
	}
	switch g.mayFireInto(ctx, ev) {
	case fireRefused:
		return nil
	case fireUnverified:
		// The membership upstream could not say whether the caller may name this org:
		// nothing is sent, but the org's sockets refetch rather than possibly miss it.
		ev = triggers.Event{Org: ev.Org, Name: ev.Name, Data: map[string]any{}, Incomplete: true}
	}
	if ev.Incomplete {
		// The mutation succeeded but an ID of its event could not be read from the
		// response: the org's sockets refetch rather than stay silently stale. The resync
		// is logged like any broadcast, so a recovery spanning it is not complete.
		g.log.Warn("event without its from_response ID; telling the org to resync", "org", ev.Org, "event", ev.Name)
		b := &namespaces.Broadcast{Nsp: g.orgNamespace(ev.Org), Event: namespaces.EventResync,
			Args: []any{map[string]string{"reason": "event incomplete", "event": ev.Name}}, TraceID: tracing.TraceID(ctx)}
		if err := g.sio.Broadcast(b); err != nil {
			return fmt.Errorf("gateway: resync org %s for incomplete %s: %w", ev.Org, ev.Name, err)
		}
		return nil
	}
	if ev.Coalesce > 0 {
		var o any // the caller's socket skips the event only if it is delivered alone
		if v, ok := ctx.Value(originKey{}).(origin); ok {
			o = v
		}
		g.coalescer.Add(ev, o)
		return nil
	}
	b := &namespaces.Broadcast{Nsp: g.orgNamespace(ev.Org), Event: ev.Name, Args: []any{ev.Data}, TraceID: tracing.TraceID(ctx)}
	if ev.Room != "" {
		b.Rooms = []string{ev.Room}
	}
	if o, ok := ctx.Value(originKey{}).(origin); ok {
		// The caller's own socket skips its event, on whichever node it is, if and only if
		// it belongs to the same user (same Authorization or Cookie).
		b.SkipSocket, b.SkipOwners = o.socketID, o.owners
	}
	if err := g.sio.Broadcast(b); err != nil {
		return fmt.Errorf("gateway: publish %s to org %s: %w", ev.Name, ev.Org, err)
	}
	g.metrics.eventsFired.WithLabelValues(ev.Name).Inc()
	g.log.Debug("event published", "org", ev.Org, "event", ev.Name)
	return nil
}

// resyncUnpublished tells the org of an event that could not be published (every try
// failed) to resync, so that its sockets refetch rather than stay silently stale.
func (g *Gateway) resyncUnpublished(_ context.Context, ev triggers.Event, _ error) {
	b := &namespaces.Broadcast{Nsp: g.orgNamespace(ev.Org), Event: namespaces.EventResync,
		Args: []any{map[string]string{"reason": "event not published", "event": ev.Name}}}
	if err := g.sio.Broadcast(b); err != nil {
		g.log.Error("resync after an unpublished event failed too", "org", ev.Org, "event", ev.Name, "err", err)
	}
}

// deliverCoalesced is the coalescer's sink: one merged event, or a resync scoped to it.
func (g *Gateway) deliverCoalesced(d coalesce.Delivery) {
	b := &namespaces.Broadcast{Nsp: g.orgNamespace(d.Org), Event: d.Name, Args: []any{d.Data}}
	if d.Resync {
		b.Event, b.Args = namespaces.EventResync, []any{coalesce.ResyncPayload(d.Name)}
	}
	if d.Room != "" {
		b.Rooms = []string{d.Room}
	}
	if o, ok := d.Origin.(origin); ok {
		b.SkipSocket, b.SkipOwners = o.socketID, o.owners
	}
	if err := g.sio.Broadcast(b); err != nil {
		g.log.Error("publish coalesced event", "event", d.Name, "org", d.Org, "events", d.Count, "err", err)
		return
	}
	g.metrics.eventsFired.WithLabelValues(d.Name).Add(float64(d.Count))
}

// orgNamespace is the namespace of org (canonical in g.ids): --namespace-prefix + "/" + org.
func (g *Gateway) orgNamespace(org string) string { return g.nsPrefix + "/" + org }

// orgOf reads the org of a namespace name: prefix, "/", and an ID in its canonical form.
// A non-canonical spelling ("/org/007" with integer IDs) is no namespace at all, so one
// org never has two namespaces whose events and recovery logs would be kept apart.
func (g *Gateway) orgOf(nsp string) (string, bool) {
	id, ok := strings.CutPrefix(nsp, g.nsPrefix+"/")
	if !ok || !g.ids.Valid(id) {
		return "", false
	}
	return id, true
}

// isOrgNamespace is the Socket.IO server's namespace matcher; anything else is refused
// with connect_error "Invalid namespace".
func (g *Gateway) isOrgNamespace(nsp string) bool {
	_, ok := g.orgOf(nsp)
	return ok
}

// admit decides a CONNECT to an org namespace: the user's own credentials must list the
// org upstream.
// A client IP whose refusals (unauthorized, forbidden) used up --admission-failures-per-ip
// is refused "rate_limited" before anything is asked upstream.
func (g *Gateway) admit(ctx context.Context, req *namespaces.ConnectRequest) (_ any, err error) {
	org, ok := g.orgOf(req.Namespace)
	if !ok { // the matcher admitted only org namespaces
		return nil, namespaces.ErrInvalidNamespace
	}
	var payload struct {
		Token string `json:"token"`
	}
	if len(req.Auth) > 0 {
		// A malformed auth object is treated as carrying no token.
		_ = json.Unmarshal(req.Auth, &payload)
	}
	cred := auth.CredentialsFromHeader(req.Handshake.Header, payload.Token)
	sessionID := ""
	if g.sessions != nil {
		sess, err := g.sessionOf(req.Handshake.Header)
		if err != nil || !sess.LoggedIn() {
			g.metrics.admissions.WithLabelValues("unauthorized").Inc()
			return nil, auth.ErrUnauthorized
		}
		cred, sessionID = g.sessionCredentials(req.Handshake.Header), sess.ID
	}
	done, ok := g.failures.Begin(clientIP(req.Handshake))
	if !ok {
		// This address spent its failures: nothing more is asked upstream for it, but a
		// member whose answer is cached is still admitted (it costs nothing).
		if cerr, cached := g.members.CheckCached(cred, org); !cached || cerr != nil {
			g.metrics.admissions.WithLabelValues(clientlimits.ErrRateLimited.Error()).Inc()
			g.log.Debug("socket refused", "org", org, "reason", clientlimits.ErrRateLimited.Error(), "remote", req.Handshake.RemoteAddr)
			return nil, clientlimits.ErrRateLimited
		}
		g.metrics.admissions.WithLabelValues("admitted").Inc()
		return &admission{org: org, cred: cred, session: sessionID}, nil
	}
	defer func() { done(errors.Is(err, auth.ErrUnauthorized) || errors.Is(err, auth.ErrForbidden)) }()
	if err := g.members.Check(ctx, cred, org); err != nil {
		g.metrics.admissions.WithLabelValues(err.Error()).Inc()
		g.log.Info("socket refused", "org", org, "reason", err.Error(), "remote", req.Handshake.RemoteAddr,
			"request_id", req.Handshake.Header.Get(HeaderRequestID))
		return nil, err
	}
	g.metrics.admissions.WithLabelValues("admitted").Inc()
	return &admission{org: org, cred: cred, session: sessionID}, nil
}

// clientIP is the address a socket's admission failures count against: h.ClientIP (the
// peer address, or the trusted X-Forwarded-For hop: --trusted-proxies), else the peer.
func clientIP(h *engineio.Handshake) netip.Addr {
	if h.ClientIP.IsValid() {
		return h.ClientIP
	}
	ap, err := netip.ParseAddrPort(h.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// onConnect keeps re-checking an admitted socket's membership and drops it on revocation.
func (g *Gateway) onConnect(s *namespaces.Socket) {
	a := s.Data().(*admission)
	stop := g.members.Watch(a.cred, a.org, func(err error) {
		g.log.Info("membership revoked, disconnecting socket", "org", a.org, "sid", s.ID(), "reason", err.Error())
		_ = s.Emit(EventRevoked, map[string]string{"reason": err.Error()})
		s.Disconnect(false)
	})
	s.OnDisconnect(func(string) {
		stop()
		if g.drive != nil {
			g.drive.Forget(watcherOf(s))
		}
	})
	if a.session != "" {
		g.registerSession(s, a.session)
	}
}

// rewriteFor is the proxy's extra rewrite: the session's bearer token in session mode.
func (g *Gateway) rewriteFor(cfg Config) func(*httputil.ProxyRequest) {
	if cfg.Auth != "session" {
		return nil
	}
	return g.proxyRewrite
}

// allowRequestFor vets Engine.IO requests: the Origin allowlist, plus a session in
// session mode.
func (g *Gateway) allowRequestFor(cfg Config) func(*http.Request) error {
	if cfg.Auth == "session" {
		return g.allowSocket
	}
	return g.origins.Allowed
}

// HeaderSocketID names, on a mutating API call, the caller's own socket, which then does
// not receive the events the call fires.
const HeaderSocketID = "X-Socket-ID"

type originKey struct{}

type origin struct {
	socketID string
	owners   []string
}

// originator records the X-Socket-ID of an API call and who made it (callerOf: the same
// credentials a socket of that caller was admitted with), for Publish.
func originator(next http.Handler, callerOf func(http.Header) auth.Credentials) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, callerOf(r.Header)))
		if id := r.Header.Get(HeaderSocketID); id != "" && len(id) <= 64 {
			o := origin{socketID: id, owners: ownerKeys(callerOf(r.Header))}
			if len(o.owners) > 0 {
				r = r.WithContext(context.WithValue(r.Context(), originKey{}, o))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// HeaderRequestID carries a request ID through the gateway: kept from the client when it
// is a short token, else made here; sent upstream with proxied calls, echoed in the
// response, and logged with refused admissions.
const HeaderRequestID = "X-Request-Id"

// requestID makes sure every request has an X-Request-Id.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
			r.Header.Set(HeaderRequestID, id)
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
