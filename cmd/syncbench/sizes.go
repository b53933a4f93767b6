package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// fanoutSize is one SOCKETSxEVENTS@RATE.
type fanoutSize struct {
	sockets, events int
	rate            float64
}

func parseSizes(s string) ([]fanoutSize, error) {
	var out []fanoutSize
	for _, item := range splitList(s) {
		se, r, hasRate := strings.Cut(item, "@")
		so, ev, ok := strings.Cut(se, "x")
		var sz fanoutSize
		var err1, err2, err3 error
		sz.sockets, err1 = strconv.Atoi(so)
		sz.events, err2 = strconv.Atoi(ev)
		if hasRate {
			sz.rate, err3 = strconv.ParseFloat(r, 64)
		}
		if !ok || errors.Join(err1, err2, err3) != nil || sz.sockets <= 0 || sz.events <= 0 || sz.rate < 0 {
			return nil, fmt.Errorf("fan-out size %q: want SOCKETSxEVENTS@RATE, e.g. 1000x1000@500", item)
		}
		out = append(out, sz)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(xs []string, x string) bool { return slices.Contains(xs, x) }

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run syncbench from the repository")
		}
		dir = parent
	}
}
