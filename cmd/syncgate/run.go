package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/syncgate/syncgate/demo"
	"github.com/syncgate/syncgate/examples"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/tracing"
	"github.com/syncgate/syncgate/triggers"
)

// run starts the gateway and serves until SIGINT or SIGTERM.
func run(args []string) error {
	cfg, err := gateway.ParseConfig(args, gateway.EnvLookup)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	opts := gateway.Options{Logger: log}
	// OpenTelemetry: off unless the OTEL_* environment asks for traces (README "Tracing").
	if opts.Tracing, err = tracing.FromEnv(ctx, gateway.EnvLookup); err != nil {
		return err
	}
	if opts.Tracing != nil {
		defer func() { // after the gateway closed (deferred below): its last spans go too
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := opts.Tracing.Shutdown(sctx); err != nil {
				log.Warn("tracing: spans not all exported", "err", err)
			}
		}()
		log.Info("tracing on", "otlp_endpoint", opts.Tracing.Endpoint())
	}
	if cfg.Demo {
		if cfg.Upstream == "" { // else: a shared demo API (syncgate demo-api), as in docker-compose
			upstream, closeDemo, err := startDemoAPI(log)
			if err != nil {
				return err
			}
			defer closeDemo()
			cfg.Upstream = upstream
		}
		opts.Root = demo.Page()
	}
	switch {
	case cfg.Triggers != "":
		if opts.Triggers, err = triggers.LoadWith(cfg.Triggers, triggers.Options{IDs: cfg.OrgIDFormat}); err != nil {
			return err
		}
	case cfg.Demo:
		if opts.Triggers, err = triggers.ParseWith("examples/zetkin-poc.yaml", examples.ZetkinPoC(), triggers.Options{IDs: cfg.OrgIDFormat}); err != nil {
			return err
		}
	default:
		log.Warn("no --triggers file: the gateway proxies but fires no events")
	}
	gateway.LogTriggerWarnings(log, opts.Triggers)

	g, err := gateway.New(cfg, opts)
	if err != nil {
		return err
	}
	defer g.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	srv := g.Server() // --read-header-timeout, --idle-timeout; no read/write timeout (websockets, streams)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var admin *http.Server
	if cfg.AdminListen != "" {
		aln, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("admin listen %s: %w", cfg.AdminListen, err)
		}
		admin = &http.Server{Handler: g.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- admin.Serve(aln) }()
		log.Info("admin listener", "addr", aln.Addr().String(), "publish_api", cfg.AdminToken != "", "admin_ui", cfg.AdminUIUser != "")
	}
	log.Info("syncgate listening", "addr", ln.Addr().String(), "upstream", cfg.Upstream,
		"api_prefix", cfg.APIPrefix, "namespaces", cfg.NamespacePrefix+"/{org}", "org_id_format", cfg.OrgIDFormat.String(),
		"triggers", opts.Triggers.Len(), "demo", cfg.Demo)
	if cfg.Demo {
		log.Info("demo page: open http://localhost" + portOf(ln.Addr()) + "/ in two windows")
	}
	for {
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve: %w", err)
			}
			return nil
		case <-hup:
			reloadTriggers(log, cfg, g)
		case <-ctx.Done():
			return shutdown(log, cfg, g, srv, admin)
		}
	}
}

// shutdown stops accepting, tells every socket to reconnect (elsewhere, behind a load
// balancer), lets in-flight API calls finish, and returns within --shutdown-timeout.
func shutdown(log *slog.Logger, cfg gateway.Config, g *gateway.Gateway, srv, admin *http.Server) error {
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }() // closes the listener first, then waits for calls
	g.Drain()
	err := <-done
	if admin != nil {
		if aerr := admin.Shutdown(ctx); aerr != nil && err == nil { // publish API calls in flight finish too
			err = aerr
		}
	}
	if err != nil {
		// Calls still in flight may yet fire events this node can no longer publish: the
		// other nodes must resync their sockets when this node's lease ends.
		g.Abandon()
	}
	_ = g.Close()
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: in-flight calls still running after %s: %w", cfg.ShutdownTimeout, err)
	}
	log.Info("stopped")
	return nil
}

// reloadTriggers re-reads the trigger file on SIGHUP; a bad file keeps the current set
// (Gateway.ReloadTriggers logs the outcome and keeps a failure visible in /readyz).
func reloadTriggers(log *slog.Logger, cfg gateway.Config, g *gateway.Gateway) {
	if cfg.Triggers == "" {
		log.Warn("SIGHUP: no --triggers file to reload")
		return
	}
	_ = g.ReloadTriggers(cfg.Triggers) // logged, counted and shown by the gateway
}

// startDemoAPI serves the built-in example API on a loopback port and returns its base URL.
func startDemoAPI(log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo API: %w", err)
	}
	api := demo.NewAPI(demo.WithLogger(log))
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + api.Prefix(), func() { _ = srv.Close() }, nil
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return ":" + port
}

func newLogger(cfg gateway.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	ho := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, ho))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, ho))
}
