package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/orgid"
	"github.com/syncgate/syncgate/triggers"
)

// Reloading the trigger file (SIGHUP): a file that does not load leaves the triggers in
// force untouched, and the failure stays visible (/readyz detail, status page,
// syncgate_config_reload_failures_total) until a reload succeeds. A successful reload logs
// what changed, so an operator sees that the edit they meant is the one in force.

// ReloadFailure is the last failed reload, shown until a reload succeeds.
type ReloadFailure struct {
	File  string    `json:"file"`
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// reloadState is what the gateway remembers of its trigger file between reloads.
type reloadState struct {
	mu      sync.Mutex
	summary []string       // "METHOD path → event" of the triggers in force (nil: unknown)
	failure *ReloadFailure // nil since the last successful reload
	last    *ReloadResult  // the last reload, good or bad (nil: none since start)
}

// ReloadResult is the outcome of the last reload, for the status page.
type ReloadResult struct {
	OK       bool      `json:"ok"`
	File     string    `json:"file"`
	At       time.Time `json:"at"`
	Triggers int       `json:"triggers"`        // triggers in force after it
	Added    int       `json:"added,omitempty"` // triggers it added and removed (a good reload)
	Removed  int       `json:"removed,omitempty"`
	Error    string    `json:"error,omitempty"` // why it failed (a bad reload)
}

func (s *reloadState) lastResult() *ReloadResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return nil
	}
	r := *s.last
	return &r
}

func (s *reloadState) lastFailure() *ReloadFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		return nil
	}
	f := *s.failure
	return &f
}

// maxDiffLines bounds the triggers named in one reload's log record.
const maxDiffLines = 50

// ReloadTriggers re-reads the trigger file at path and puts it in force. On failure the
// current triggers stay, the failure is recorded for /readyz and the status page, counted
// in syncgate_config_reload_failures_total, logged, and returned; on success the recorded
// failure is cleared and the triggers added and removed are logged.
func (g *Gateway) ReloadTriggers(path string) error {
	set, data, err := loadTriggerFile(path, g.ids)
	if err != nil {
		g.metrics.reloadFailures.Inc()
		g.reload.mu.Lock()
		g.reload.failure = &ReloadFailure{File: path, Error: err.Error(), At: time.Now().UTC()}
		g.reload.last = &ReloadResult{File: path, At: g.reload.failure.At, Triggers: g.triggers.Load().Len(), Error: err.Error()}
		g.reload.mu.Unlock()
		g.log.Error("trigger file not reloaded; keeping the current triggers", "file", path, "triggers", g.triggers.Load().Len(), "err", err)
		return fmt.Errorf("gateway: reload %s: %w", path, err)
	}
	now := summarizeTriggers(data)
	g.reload.mu.Lock()
	before := g.reload.summary
	g.reload.summary, g.reload.failure = now, nil
	g.SetTriggers(set)
	added, removed := diffLines(before, now)
	g.reload.last = &ReloadResult{OK: true, File: path, At: time.Now().UTC(), Triggers: set.Len(), Added: len(added), Removed: len(removed)}
	g.reload.mu.Unlock()

	g.log.Info("triggers reloaded", "file", path, "triggers", set.Len(),
		"added", len(added), "removed", len(removed),
		"added_triggers", capLines(added), "removed_triggers", capLines(removed))
	LogTriggerWarnings(g.log, set)
	return nil
}

// LogTriggerWarnings logs what `syncgate check` would warn about in set (overlapping
// triggers, undeclared rooms): allowed, but likely mistakes an operator should see.
func LogTriggerWarnings(log *slog.Logger, set *triggers.Set) {
	for _, w := range set.Warnings() {
		log.Warn("trigger file", "warning", w.Error())
	}
}

// loadTriggerFile reads the file once and parses those bytes, so the logged diff is the
// diff of what was put in force.
// Org IDs in the file are read in the gateway's --org-id-format.
func loadTriggerFile(path string, ids orgid.Format) (*triggers.Set, []byte, error) {
	data, err := readTriggerFile(path)
	if err != nil {
		return nil, nil, err
	}
	set, err := triggers.ParseWith(path, data, triggers.Options{IDs: ids})
	if err != nil {
		return nil, nil, err
	}
	return set, data, nil
}

func readTriggerFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trigger file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, triggers.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// summarizeTriggerFile is the summary of the trigger file a gateway starts with, so its
// first reload has something to diff against; nil when there is no file or it cannot be
// read now (the first reload then lists every trigger as added).
func summarizeTriggerFile(path string, set *triggers.Set) []string {
	if path == "" || set == nil {
		return nil
	}
	data, err := readTriggerFile(path)
	if err != nil {
		return nil
	}
	return summarizeTriggers(data)
}

// summarizeTriggers lists a valid trigger file's triggers as "METHOD path → event", sorted.
// It reads only the three keys every trigger has (package triggers validated the file and
// does not expose its triggers), so it cannot disagree with the loader about them.
func summarizeTriggers(data []byte) []string {
	var doc struct {
		Triggers []struct {
			Event  string `yaml:"event"`
			Method string `yaml:"method"`
			Path   string `yaml:"path"`
		} `yaml:"triggers"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil
	}
	out := make([]string, 0, len(doc.Triggers))
	for _, t := range doc.Triggers {
		out = append(out, strings.ToUpper(t.Method)+" "+t.Path+" → "+t.Event)
	}
	slices.Sort(out)
	return out
}

// diffLines returns the lines of after missing from before (added) and of before
// missing from after (removed); both are sorted, duplicates count.
func diffLines(before, after []string) (added, removed []string) {
	count := map[string]int{}
	for _, l := range before {
		count[l]++
	}
	for _, l := range after {
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	for _, l := range before {
		if count[l] > 0 {
			count[l]--
			removed = append(removed, l)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// capLines keeps a log record bounded: at most maxDiffLines lines, then how many more.
func capLines(lines []string) []string {
	if len(lines) <= maxDiffLines {
		return lines
	}
	out := slices.Clone(lines[:maxDiffLines])
	return append(out, fmt.Sprintf("… and %d more", len(lines)-maxDiffLines))
}
