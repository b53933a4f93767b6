package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/syncgate/syncgate/internal/conformance"
)

// runConformance serves the official protocol suites' reference configuration.
func runConformance(args []string) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	listen := fs.String("listen", "localhost:3000", "address the suites expect")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, closeAll := conformance.Handler()
	defer closeAll()
	srv := &http.Server{Addr: *listen, Handler: h}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	slog.Info("conformance server listening", "addr", *listen, "engine.io", "/engine.io/", "socket.io", "/socket.io/")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("conformance server: %w", err)
	}
	return nil
}
