package inproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/triggers"
)

// ErrProfiling is a profiling request out of order (stop without start, start twice).
var ErrProfiling = errors.New("inproc: profiling request out of order")

// memProfileRate samples one allocation per 32 KiB (the default is 512 KiB), so that the heap
// profile of a thousand idle connections has hundreds of samples.
const memProfileRate = 32 << 10

// Serve runs a gateway configured by args (syncgate's own flags) until ctx ends, writing
// profiles into profileDir.
func Serve(ctx context.Context, args []string, profileDir string) error {
	runtime.MemProfileRate = memProfileRate
	cfg, err := gateway.ParseConfig(args, func(string) (string, bool) { return "", false })
	if err != nil {
		return fmt.Errorf("inproc: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := gateway.Options{Logger: log}
	if cfg.Triggers != "" {
		if opts.Triggers, err = triggers.Load(cfg.Triggers); err != nil {
			return fmt.Errorf("inproc: %w", err)
		}
	}
	g, err := gateway.New(cfg, opts)
	if err != nil {
		return fmt.Errorf("inproc: %w", err)
	}
	defer g.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("inproc: listen %s: %w", cfg.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/bench/", NewProfiler(profileDir))
	mux.Handle("/", g.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("inproc: serve: %w", err)
	}
	return nil
}

// Profiler serves:
//
//	POST /bench/cpuprofile/start?name=N  start a CPU profile into DIR/N
//	POST /bench/cpuprofile/stop          stop it
//	POST /bench/heapprofile?name=N       GC, then write a heap profile into DIR/N
//	GET  /bench/stats                    GC, then Go memory statistics as JSON
//
// Names are plain file names ([A-Za-z0-9._-]), so a request cannot write outside DIR.
type Profiler struct {
	dir string
	mux *http.ServeMux

	mu  sync.Mutex
	cpu *os.File
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// NewProfiler returns the /bench/ handler writing into dir.
func NewProfiler(dir string) *Profiler {
	p := &Profiler{dir: dir, mux: http.NewServeMux()}
	p.mux.HandleFunc("POST /bench/cpuprofile/start", p.startCPU)
	p.mux.HandleFunc("POST /bench/cpuprofile/stop", p.stopCPU)
	p.mux.HandleFunc("POST /bench/heapprofile", p.heap)
	p.mux.HandleFunc("GET /bench/stats", Stats)
	return p
}

func (p *Profiler) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

func (p *Profiler) file(r *http.Request) (string, error) {
	name := r.URL.Query().Get("name")
	if !safeName.MatchString(name) {
		return "", fmt.Errorf("inproc: profile name %q: want [A-Za-z0-9._-]", name)
	}
	return filepath.Join(p.dir, name), nil
}

func (p *Profiler) startCPU(w http.ResponseWriter, r *http.Request) {
	path, err := p.file(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cpu != nil {
		http.Error(w, ErrProfiling.Error(), http.StatusConflict)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p.cpu = f
}

func (p *Profiler) stopCPU(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cpu == nil {
		http.Error(w, ErrProfiling.Error(), http.StatusConflict)
		return
	}
	pprof.StopCPUProfile()
	err := p.cpu.Close()
	p.cpu = nil
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (p *Profiler) heap(w http.ResponseWriter, r *http.Request) {
	path, err := p.file(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// Stats answers Go memory statistics after a collection, in the shape the bare peer uses.
func Stats(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]uint64{
		"heapInuse": ms.HeapInuse, "heapAlloc": ms.HeapAlloc, "stackInuse": ms.StackInuse,
		"goroutines": uint64(runtime.NumGoroutine()),
	})
}
