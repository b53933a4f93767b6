package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/syncgate/syncgate/test/soak"
)

// runSoak runs the churn soak of test/soak (issue 20) with real processes and prints its
// ledger; it fails when an event was lost, duplicated or reached the wrong org or room.
func runSoak(ctx context.Context, args []string) error {
	long := soak.Long()
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	short := fs.Bool("short", false, "use TestSoakShort's preset (≈2½ min) instead of the 25-minute one; other flags still apply")
	duration := fs.Duration("duration", long.Duration, "load duration (fault times scale with it unless given)")
	sockets := fs.Int("sockets", long.Sockets, "logical sockets")
	orgs := fs.Int("orgs", long.Orgs, "organizations")
	rate := fs.Float64("rate", long.Rate, "API mutations per second, through every node in turn")
	nodes := fs.Int("nodes", long.Nodes, "gateway processes")
	drivers := fs.Int("drivers", long.Drivers, "Node processes driving the sockets")
	churn := fs.Float64("churn", long.ChurnPerSec, "deliberate disconnects per second (a share of them close for good and open a new socket)")
	clientEvents := fs.Float64("client-events", long.ClientEvents, "client events per second")
	redisAt := fs.Duration("redis-kill-at", long.RedisKillAt, "when Redis is killed (-9) and restarted empty; 0: never")
	sigtermAt := fs.Duration("sigterm-at", long.SigtermAt, "when node 0 gets SIGTERM and is started again; 0: never")
	kill9At := fs.Duration("kill9-at", long.Kill9At, "when node 1 is killed (-9) and started again; 0: never")
	out := fs.String("out", "", "directory for logs, lost.txt and the journal (default: a new temporary directory)")
	journal := fs.Bool("journal", false, "write every driver line and mutation to OUT/journal.jsonl")
	binary := fs.String("binary", "", "syncgate binary (default: go build ./cmd/syncgate into OUT)")
	seed := fs.Uint64("seed", 1, "seed of the mutation and churn choices")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := long
	if *short {
		cfg = soak.Short()
	}
	base := cfg.Duration
	scale := func(name string, preset, given time.Duration) time.Duration {
		if set[name] {
			return given
		}
		if set["duration"] {
			return time.Duration(float64(preset) * float64(*duration) / float64(base))
		}
		return preset
	}
	pick := func(name string, preset, given float64) float64 {
		if set[name] {
			return given
		}
		return preset
	}
	cfg.RedisKillAt = scale("redis-kill-at", cfg.RedisKillAt, *redisAt)
	cfg.SigtermAt = scale("sigterm-at", cfg.SigtermAt, *sigtermAt)
	cfg.Kill9At = scale("kill9-at", cfg.Kill9At, *kill9At)
	if set["duration"] {
		cfg.Duration = *duration
	}
	cfg.Sockets = int(pick("sockets", float64(cfg.Sockets), float64(*sockets)))
	cfg.Orgs = int(pick("orgs", float64(cfg.Orgs), float64(*orgs)))
	cfg.Nodes = int(pick("nodes", float64(cfg.Nodes), float64(*nodes)))
	cfg.Drivers = int(pick("drivers", float64(cfg.Drivers), float64(*drivers)))
	cfg.Rate = pick("rate", cfg.Rate, *rate)
	cfg.ChurnPerSec = pick("churn", cfg.ChurnPerSec, *churn)
	cfg.ClientEvents = pick("client-events", cfg.ClientEvents, *clientEvents)
	cfg.Seed, cfg.Journal = *seed, *journal

	root, err := repoRoot()
	if err != nil {
		return err
	}
	cfg.RepoRoot = root
	cfg.WorkDir = *out
	if cfg.WorkDir == "" {
		if cfg.WorkDir, err = os.MkdirTemp("", "syncgate-soak-"); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	cfg.Binary = *binary
	if cfg.Binary == "" {
		cfg.Binary = filepath.Join(cfg.WorkDir, "syncgate")
		build := exec.CommandContext(ctx, "go", "build", "-o", cfg.Binary, "./cmd/syncgate")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("soak: go build ./cmd/syncgate: %w", err)
		}
	}
	cfg.Progress = os.Stdout
	fmt.Printf("soak: %d nodes, %d sockets in %d orgs, %.0f mutations/s, churn %.0f/s, %v; faults at redis %v, SIGTERM %v, kill -9 %v; out %s\n",
		cfg.Nodes, cfg.Sockets, cfg.Orgs, cfg.Rate, cfg.ChurnPerSec, cfg.Duration, cfg.RedisKillAt, cfg.SigtermAt, cfg.Kill9At, cfg.WorkDir)
	res, err := soak.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if res.Failed() {
		v := res.Verdict
		return fmt.Errorf("soak FAILED: LOST %d, duplicates %d, wrong org %d, wrong room %d, stuck %d (details: %s)",
			v.Total.Lost, v.Total.Duplicates, v.Total.WrongOrg, v.Total.WrongRoom, len(v.Stuck), res.LostFile)
	}
	fmt.Println("soak PASSED: every expected event was delivered once or covered by a resync")
	return nil
}
