package scenario

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"

	"github.com/syncgate/syncgate/bench/systems"
)

// ProfileResult is syncgate's fan-out profiled in process.
type ProfileResult struct {
	Fanout   FanoutResult
	CPUFile  string // pprof CPU profile of the measured phase
	HeapFile string // pprof heap profile taken after it, sockets still connected
	CPUTop   string // `go tool pprof -top` of CPUFile
	CPUCum   string // the same sorted by cumulative cost
	HeapTop  string // `go tool pprof -top -sample_index=inuse_space` of HeapFile
}

// Profile runs a fan-out against p (a syncgate-inproc process writing into dir), with a CPU
// profile around the measured phase and a heap profile after it.
func Profile(ctx context.Context, p *systems.Process, upstreamPid int, cfg FanoutConfig, dir, prefix string) (ProfileResult, error) {
	res := ProfileResult{CPUFile: filepath.Join(dir, prefix+"-cpu.pprof"), HeapFile: filepath.Join(dir, prefix+"-heap.pprof")}
	cfg.BeforeMeasure = func(ctx context.Context) error {
		return post(ctx, p, "/bench/cpuprofile/start?name="+prefix+"-cpu.pprof")
	}
	cfg.AfterMeasure = func(ctx context.Context) error {
		if err := post(ctx, p, "/bench/cpuprofile/stop"); err != nil {
			return err
		}
		return post(ctx, p, "/bench/heapprofile?name="+prefix+"-heap.pprof")
	}
	var err error
	if res.Fanout, err = Fanout(ctx, p, upstreamPid, cfg); err != nil {
		return res, err
	}
	if res.CPUTop, err = pprofTop(ctx, res.CPUFile); err != nil {
		return res, err
	}
	if res.CPUCum, err = pprofTop(ctx, res.CPUFile, "-cum"); err != nil {
		return res, err
	}
	res.HeapTop, err = pprofTop(ctx, res.HeapFile, "-sample_index=inuse_space")
	return res, err
}

func post(ctx context.Context, p *systems.Process, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.Addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scenario: %s: %w", path, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("scenario: %s answered %s", path, resp.Status)
	}
	return nil
}

// pprofTop runs `go tool pprof -top` on a profile and returns its text.
func pprofTop(ctx context.Context, file string, extra ...string) (string, error) {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=25"}, extra...)
	args = append(args, file)
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("scenario: go tool pprof %s: %w\n%s", file, err, out)
	}
	return string(out), nil
}
