package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/syncgate/syncgate/demo"
	"github.com/syncgate/syncgate/gateway"
)

// demoAPIEnvPrefix prefixes the environment twins of the demo-api flags
// (--listen ↔ SYNCGATE_DEMO_API_LISTEN), apart from the gateway's own SYNCGATE_LISTEN.
const demoAPIEnvPrefix = "SYNCGATE_DEMO_API_"

// runDemoAPI is `syncgate demo-api`: it serves only the built-in example API (the one --demo
// starts in-process) until SIGINT or SIGTERM, so that several gateway nodes can share one
// upstream, as in docker-compose.yml.
func runDemoAPI(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveDemoAPI(ctx, args, os.LookupEnv, nil)
}

// serveDemoAPI parses args (environment twins from lookup), listens, calls ready with the
// bound address when not nil, and serves until ctx ends. GET /healthz answers 200 for
// container health checks; everything else goes to demo.NewAPI (under /v1).
func serveDemoAPI(ctx context.Context, args []string, lookup func(string) (string, bool), ready func(net.Addr)) error {
	fs := flag.NewFlagSet("demo-api", flag.ContinueOnError)
	listen := fs.String("listen", ":9000", "address to listen on")
	logFormat := fs.String("log-format", "text", "text or json")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := demoAPIEnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookup(name); ok {
			if err := fs.Set(f.Name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo-api: unexpected argument %q", fs.Arg(0))
	}
	cfg := gateway.Config{LogFormat: *logFormat, LogLevel: *logLevel}
	if err := validateDemoAPILog(cfg); err != nil {
		return err
	}
	log := newLogger(cfg)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo-api: listen %s: %w", *listen, err)
	}
	api := demo.NewAPI(demo.WithLogger(log))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("/", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("demo API listening", "addr", ln.Addr().String(), "prefix", api.Prefix(), "users", demo.Users())
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("demo-api: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("demo-api: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("demo-api: serve: %w", err)
	}
	return nil
}

// validateDemoAPILog checks the two logging settings with the gateway's own rules.
func validateDemoAPILog(c gateway.Config) error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("demo-api: --log-format must be text or json, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fmt.Errorf("demo-api: --log-level must be debug, info, warn or error, got %q", c.LogLevel)
}
