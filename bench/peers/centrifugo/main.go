package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("centrifugo", "centrifugo", "the Centrifugo v6 binary")
	listen := flag.String("listen", "127.0.0.1:8092", "the relay's address (API, connect proxy, /healthz)")
	wsListen := flag.String("ws-listen", "127.0.0.1:8093", "Centrifugo's address (websocket clients, HTTP API)")
	upstream := flag.String("upstream", "http://127.0.0.1:9000/v1", "the upstream API's base URL")
	dir := flag.String("dir", os.TempDir(), "directory for Centrifugo's config file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, *listen, *wsListen, *upstream, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "centrifugo peer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin, listen, wsListen, upstream, dir string) error {
	r := newRelay(upstream, "http://"+wsListen)
	conf, err := writeConfig(dir, wsListen, "http://"+listen+"/centrifugo/connect", r.apiKey)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "--config", conf)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	srv := &http.Server{Addr: listen, Handler: r.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		select {
		case <-ctx.Done():
		case err := <-exited:
			slog.Error("centrifugo exited", "err", err)
		}
		_ = srv.Close()
	}()
	slog.Info("centrifugo relay listening", "addr", listen, "centrifugo", wsListen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("relay: %w", err)
	}
	return nil
}

// writeConfig writes Centrifugo's JSON config: one "org" channel namespace, the connect proxy
// pointing at the relay, the HTTP API behind a key, the health endpoint, warnings only. All
// else is Centrifugo's default (memory engine, websocket write timeout 1 s, no write delay).
func writeConfig(dir, wsListen, connectProxy, apiKey string) (string, error) {
	host, port, err := net.SplitHostPort(wsListen)
	if err != nil {
		return "", fmt.Errorf("--ws-listen: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", fmt.Errorf("--ws-listen port: %w", err)
	}
	conf := map[string]any{
		"http_server": map[string]any{"address": host, "port": p},
		"log":         map[string]any{"level": "warn"},
		"health":      map[string]any{"enabled": true},
		"http_api":    map[string]any{"key": apiKey},
		"client": map[string]any{
			"allowed_origins": []string{"*"},
			"proxy": map[string]any{"connect": map[string]any{
				"enabled": true, "endpoint": connectProxy, "timeout": "5s",
			}},
		},
		"channel": map[string]any{"namespaces": []map[string]any{{"name": "org"}}},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "centrifugo-"+port+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return path, nil
}

// relay is the API gateway and connect proxy in front of Centrifugo.
type relay struct {
	upstream   string // e.g. http://127.0.0.1:9000/v1
	centrifugo string // e.g. http://127.0.0.1:8093
	apiKey     string
	client     *http.Client
}

func newRelay(upstream, centrifugo string) *relay {
	return &relay{
		upstream: upstream, centrifugo: centrifugo, apiKey: "bench-api-key",
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true,
		}},
	}
}

func (r *relay) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", r.health)
	mux.HandleFunc("POST /centrifugo/connect", r.connect)
	mux.HandleFunc("PUT /api/orgs/{org}/people/views/{view}/rows/{person}", r.mutate)
	return mux
}

// health answers 200 once Centrifugo's own health endpoint does.
func (r *relay) health(w http.ResponseWriter, req *http.Request) {
	resp, err := r.client.Get(r.centrifugo + "/health")
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
}

// connectRequest is the part of Centrifugo's connect proxy request the relay reads.
type connectRequest struct {
	Data struct {
		Token string `json:"token"`
		Org   int64  `json:"org"`
	} `json:"data"`
}

// connect admits a connection to its org's channel if the upstream lists a membership of
// that org with a role for the connection's token.
func (r *relay) connect(w http.ResponseWriter, req *http.Request) {
	var cr connectRequest
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<16)).Decode(&cr); err != nil || cr.Data.Token == "" || cr.Data.Org <= 0 {
		writeJSON(w, `{"error":{"code":4401,"message":"unauthorized"}}`)
		return
	}
	ok, err := r.member(req.Context(), cr.Data.Token, cr.Data.Org)
	switch {
	case err != nil:
		writeJSON(w, `{"error":{"code":4503,"message":"unavailable"}}`)
	case !ok:
		writeJSON(w, `{"error":{"code":4403,"message":"forbidden"}}`)
	default:
		b, _ := json.Marshal(map[string]any{"result": map[string]any{
			"user": cr.Data.Token, "channels": []string{"org:" + strconv.FormatInt(cr.Data.Org, 10)},
		}})
		writeJSON(w, string(b))
	}
}

// member asks the upstream whether token's user belongs to org with a role.
func (r *relay) member(ctx context.Context, token string, org int64) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.upstream+"/users/me/memberships", http.NoBody)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := r.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("memberships: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("memberships answered %s", resp.Status)
	}
	var body struct {
		Data []struct {
			Organization struct {
				ID int64 `json:"id"`
			} `json:"organization"`
			Role *string `json:"role"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return false, fmt.Errorf("memberships: %w", err)
	}
	for _, m := range body.Data {
		if m.Organization.ID == org && m.Role != nil {
			return true, nil
		}
	}
	return false, nil
}

// mutate forwards the PUT upstream and, on a 2xx answer, publishes the event to the org's
// channel before answering.
func (r *relay) mutate(w http.ResponseWriter, req *http.Request) {
	org, view, person := req.PathValue("org"), req.PathValue("view"), req.PathValue("person")
	if !digits(org) || !digits(view) || !digits(person) {
		http.Error(w, `{"error":"Not Found"}`, http.StatusNotFound)
		return
	}
	up, err := http.NewRequestWithContext(req.Context(), http.MethodPut,
		r.upstream+"/orgs/"+org+"/people/views/"+view+"/rows/"+person, req.Body)
	if err != nil {
		http.Error(w, `{"error":"Bad Gateway"}`, http.StatusBadGateway)
		return
	}
	up.Header.Set("Authorization", req.Header.Get("Authorization"))
	resp, err := r.client.Do(up)
	if err != nil {
		http.Error(w, `{"error":"Bad Gateway"}`, http.StatusBadGateway)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if err := r.publish(req.Context(), org, view, person); err != nil {
			slog.Warn("publish failed", "org", org, "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// publish sends personview.addrow to channel org:ORG through Centrifugo's HTTP API.
func (r *relay) publish(ctx context.Context, org, view, person string) error {
	body := `{"channel":"org:` + org + `","data":{"event":"personview.addrow","viewId":` + view + `,"personId":` + person + `}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.centrifugo+"/api/publish", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", r.apiKey)
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"error"`)) {
		return fmt.Errorf("publish answered %s: %s", resp.Status, b)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, body)
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
