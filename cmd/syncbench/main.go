package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	raiseFileLimit()

	args := os.Args[1:]
	cmd := "all"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "all", "fanout", "idle", "profile", "storm", "proxy", "twonode", "rates", "maxrate":
		err = runBench(ctx, cmd, args)
	case "cluster":
		err = runCluster(ctx, args)
	case "soak":
		err = runSoak(ctx, args)
	case "upstream":
		err = runUpstream(ctx, args)
	case "gateway-inproc":
		err = runInproc(ctx, args)
	default:
		err = fmt.Errorf("unknown command %q (want all, rates, maxrate, fanout, idle, profile, storm, proxy, twonode, cluster)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncbench:", err)
		os.Exit(1)
	}
}

// raiseFileLimit lifts the soft open-files limit to the hard one, for this process and (since
// it is set explicitly) for the servers it starts: 10k sockets need 10k descriptors each side.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		slog.Warn("cannot raise the open-files limit", "err", err)
	}
}
