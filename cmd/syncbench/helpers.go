package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/syncgate/syncgate/bench/inproc"
	"github.com/syncgate/syncgate/bench/upstream"
)

// runUpstream serves the fake platform API until ctx ends.
func runUpstream(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9000", "address to listen on")
	orgs := fs.Int("orgs", 1, "every user belongs to orgs 1..N")
	delay := fs.Duration("membership-delay", 0, "how long each membership answer takes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h := upstream.New(*orgs)
	h.MembershipDelay = *delay
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("upstream: %w", err)
	}
	return nil
}

// runInproc runs syncgate in this process with profiling endpoints: the first two arguments
// are --profile-dir DIR, the rest are syncgate's own flags.
func runInproc(ctx context.Context, args []string) error {
	if len(args) < 2 || args[0] != "--profile-dir" {
		return errors.New("gateway-inproc: usage: gateway-inproc --profile-dir DIR [syncgate flags]")
	}
	return inproc.Serve(ctx, args[2:], args[1])
}
