package deploy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

const chartDir = "helm/syncgate"

// ciValues are the values files helm lint and the render tests use, one per way to deploy.
func ciValues(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("values files in %s/ci: %v %v, want at least 4", chartDir, files, err)
	}
	return files
}

// manifest is one rendered Kubernetes object.
type manifest map[string]any

func (m manifest) kind() string { return str(m["kind"]) }
func (m manifest) name() string { return str(dig(m, "metadata", "name")) }

func str(v any) string { s, _ := v.(string); return s }

// dig walks maps (by key) and lists (by index as a decimal string).
func dig(v any, path ...string) any {
	for _, p := range path {
		if m := asMap(v); m != nil {
			v = m[p]
			continue
		}
		switch x := v.(type) {
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// asMap returns v as a map: yaml.v3 decodes the mappings inside a manifest as manifests.
func asMap(v any) map[string]any {
	switch x := v.(type) {
	case manifest:
		return x
	case map[string]any:
		return x
	}
	return nil
}

func list(v any) []any { l, _ := v.([]any); return l }

// render runs helm template with the values files and --set arguments, and returns the
// objects, or helm's error output.
func render(t *testing.T, values []string, set ...string) ([]manifest, error) {
	t.Helper()
	helm := testenv.OptionalTool(t, "helm")
	args := []string{"template", "rel", chartDir, "--namespace", "realtime"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, errors.New(strings.TrimSpace(stderr.String()))
	}
	var out []manifest
	dec := yaml.NewDecoder(&stdout)
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template %v: output is not YAML: %v", args, err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func mustRender(t *testing.T, values []string, set ...string) []manifest {
	t.Helper()
	ms, err := render(t, values, set...)
	if err != nil {
		t.Fatalf("helm template %v %v: %v", values, set, err)
	}
	return ms
}

// find returns the objects of kind; name "" matches any.
func find(ms []manifest, kind, name string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m.kind() == kind && (name == "" || m.name() == name) {
			out = append(out, m)
		}
	}
	return out
}

func one(t *testing.T, ms []manifest, kind, name string) manifest {
	t.Helper()
	got := find(ms, kind, name)
	if len(got) != 1 {
		t.Fatalf("%d %s objects named %q rendered, want 1", len(got), kind, name)
	}
	return got[0]
}

// container is the Deployment's syncgate container.
func container(t *testing.T, ms []manifest) map[string]any {
	t.Helper()
	d := one(t, ms, "Deployment", "rel-syncgate")
	c := asMap(dig(d, "spec", "template", "spec", "containers", "0"))
	if c == nil || c["name"] != "syncgate" {
		t.Fatalf("no syncgate container in %v", d)
	}
	return c
}

// envOf returns the container's environment: plain values, and "secret:NAME/KEY" for
// values from a Secret.
func envOf(c map[string]any) map[string]string {
	env := map[string]string{}
	for _, e := range list(c["env"]) {
		name := str(dig(e, "name"))
		if ref := dig(e, "valueFrom", "secretKeyRef"); ref != nil {
			env[name] = "secret:" + str(dig(ref, "name")) + "/" + str(dig(ref, "key"))
			continue
		}
		env[name] = str(dig(e, "value"))
	}
	return env
}

// portOf returns the containerPort named name.
func portOf(c map[string]any, name string) int {
	for _, p := range list(c["ports"]) {
		if dig(p, "name") == name {
			n, _ := dig(p, "containerPort").(int)
			return n
		}
	}
	return 0
}

// secretStandIns are values that validate, for variables from Secrets the chart does not make.
var secretStandIns = map[string]string{
	"SYNCGATE_REDIS":                  "redis://redis.example:6379/0",
	"SYNCGATE_ADMIN_UI_PASSWORD_HASH": "$2a$10$ggLNaKNt4iniiBuwELJ0b.dQ8bCdupq7nW/GPAPBLup777887de72", // "secret"
}

// gatewayConfig parses the container's environment as the binary does, failing on any
// SYNCGATE_* variable that names no flag (the gateway would ignore it silently). Values from
// the chart's own Secret are read from it; from other Secrets, stand-ins that validate.
func gatewayConfig(t *testing.T, ms []manifest, env map[string]string) gateway.Config {
	t.Helper()
	flags := map[string]bool{}
	fs, _ := gateway.NewFlagSet(&gateway.Config{})
	fs.VisitAll(func(f *flag.Flag) { flags[gateway.EnvName(f.Name)] = true })
	lookup := map[string]string{}
	for k, v := range env {
		if !strings.HasPrefix(k, "SYNCGATE_") {
			continue
		}
		if !flags[k] {
			t.Errorf("the chart sets %s, which is no syncgate flag's variable (go run ./cmd/syncgate help flags)", k)
			continue
		}
		if ref, ok := strings.CutPrefix(v, "secret:"); ok {
			name, key, _ := strings.Cut(ref, "/")
			if own := find(ms, "Secret", name); len(own) == 1 {
				b, err := base64.StdEncoding.DecodeString(str(dig(own[0], "data", key)))
				if err != nil || len(b) == 0 {
					t.Fatalf("%s from Secret %s key %s: not in it (%v)", k, name, key, err)
				}
				v = string(b)
			} else if v = secretStandIns[k]; v == "" {
				v = "stand-in-for-" + strings.ToLower(k) + "-from-a-secret"
			}
		}
		lookup[k] = v
	}
	cfg, err := gateway.ParseConfig(nil, func(k string) (string, bool) { v, ok := lookup[k]; return v, ok })
	if err != nil {
		t.Fatalf("the rendered environment is no valid gateway configuration: %v\n%v", err, env)
	}
	return cfg
}

// Every values file in ci/ passes helm lint --strict.
func TestHelmLint(t *testing.T) {
	helm := testenv.OptionalTool(t, "helm")
	for _, v := range ciValues(t) {
		out, err := exec.Command(helm, "lint", "--strict", chartDir, "-f", v).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "0 chart(s) failed") {
			t.Errorf("helm lint --strict -f %s: %v\n%s", v, err, out)
		}
	}
}

// Several replicas without Redis would each deliver only their own events: the chart refuses
// to render and says what to set. With Redis, any way of naming it, it renders.
func TestHelmRefusesReplicasWithoutRedis(t *testing.T) {
	_, err := render(t, nil, "upstream.url=http://api:9000/v1", "replicaCount=3")
	if err == nil || !strings.Contains(err.Error(), "replicaCount is 3 but no Redis is configured") ||
		!strings.Contains(err.Error(), "redis.url") {
		t.Fatalf("replicaCount=3 without Redis: %v, want a failure naming redis.url", err)
	}
	for _, redis := range []string{"redis.url=redis://r:6379/0", "redis.existingSecret=r", "redis.cluster={r-0:6379,r-1:6379}",
		"redis.sentinel.masterName=m,redis.sentinel.addresses={s-0:26379}"} {
		if _, err := render(t, nil, "upstream.url=http://api:9000/v1", "replicaCount=3", redis); err != nil {
			t.Errorf("replicaCount=3 with %s: %v", redis, err)
		}
	}
	if _, err := render(t, nil); err == nil || !strings.Contains(err.Error(), "upstream.url is required") {
		t.Errorf("no upstream.url: %v, want a failure naming it", err)
	}
}

// The default deployment: probes on the listener that serves them, the admin listener on
// the pod's addresses and a port of its own Service, the trigger file mounted from its
// ConfigMap, a grace period above --shutdown-timeout; and the environment is a gateway
// configuration the binary accepts.
func TestHelmDeployment(t *testing.T) {
	values := []string{filepath.Join(chartDir, "ci", "default-values.yaml")}
	ms := mustRender(t, values)
	c := container(t, ms)
	env := envOf(c)
	cfg := gatewayConfig(t, ms, env)

	if got := cfg.Upstream; got != "http://api.default.svc:9000/v1" {
		t.Errorf("--upstream %q", got)
	}
	if cfg.Triggers != "/etc/syncgate/triggers.yaml" {
		t.Errorf("--triggers %q, want the mounted /etc/syncgate/triggers.yaml", cfg.Triggers)
	}
	httpPort, adminPort := portOf(c, "http"), portOf(c, "admin")
	if cfg.Listen != ":"+strconv.Itoa(httpPort) || httpPort == 0 {
		t.Errorf("--listen %q, container port http %d", cfg.Listen, httpPort)
	}
	if cfg.AdminListen != ":"+strconv.Itoa(adminPort) || adminPort == 0 {
		t.Errorf("--admin-listen %q (must listen on the pod's addresses to be scraped), container port admin %d", cfg.AdminListen, adminPort)
	}

	// Probes: the paths, on the port of the listener that serves them (the main one, not the
	// admin listener), as a gateway built from this configuration answers them.
	g, err := gateway.New(cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("gateway.New with the chart's configuration: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	main, admin := httptest.NewServer(g.Handler()), httptest.NewServer(g.AdminHandler())
	t.Cleanup(main.Close)
	t.Cleanup(admin.Close)
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got := dig(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %v, want %s", probe, got, path)
		}
		if got := dig(c, probe, "httpGet", "port"); got != "http" {
			t.Errorf("%s port %v, want http (the main listener serves %s)", probe, got, path)
		}
		resp, err := http.Get(main.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("the main listener does not serve %s", path)
		}
	}
	resp, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("admin /metrics: %d", resp.StatusCode)
	}

	// Shutdown: Kubernetes' SIGKILL comes after the preStop sleep, --shutdown-timeout and a margin.
	pod := dig(one(t, ms, "Deployment", "rel-syncgate"), "spec", "template", "spec")
	grace, _ := dig(pod, "terminationGracePeriodSeconds").(int)
	sleep := 0
	if cmd := list(dig(c, "lifecycle", "preStop", "exec", "command")); len(cmd) == 2 && cmd[0] == "sleep" {
		sleep, _ = strconv.Atoi(str(cmd[1]))
	}
	if cfg.ShutdownTimeout.Seconds() != 15 || grace < sleep+int(cfg.ShutdownTimeout.Seconds())+5 {
		t.Errorf("terminationGracePeriodSeconds %d, preStop sleep %d, --shutdown-timeout %s: want grace ≥ sleep + timeout + 5s", grace, sleep, cfg.ShutdownTimeout)
	}

	// The trigger file: the ConfigMap's content, mounted read-only where --triggers points.
	cm := one(t, ms, "ConfigMap", "rel-syncgate-triggers")
	if got := str(dig(cm, "data", "triggers.yaml")); !strings.Contains(got, "event: person.updated") {
		t.Errorf("triggers ConfigMap data %q", got)
	}
	var mounted bool
	for _, m := range list(c["volumeMounts"]) {
		if dig(m, "mountPath") == "/etc/syncgate" && dig(m, "readOnly") == true {
			for _, v := range list(dig(pod, "volumes")) {
				if dig(v, "name") == dig(m, "name") && dig(v, "configMap", "name") == "rel-syncgate-triggers" &&
					dig(v, "configMap", "items", "0", "path") == "triggers.yaml" {
					mounted = true
				}
			}
		}
	}
	if !mounted {
		t.Errorf("the triggers ConfigMap is not mounted read-only at /etc/syncgate/triggers.yaml")
	}
	if dig(one(t, ms, "Deployment", "rel-syncgate"), "spec", "template", "metadata", "annotations", "checksum/triggers") == nil {
		t.Error("no checksum/triggers annotation: a new trigger file would not roll the pods")
	}

	// Services: the main one has no admin port; the admin one only that.
	for name, want := range map[string]string{"rel-syncgate": "http", "rel-syncgate-admin": "admin"} {
		ports := list(dig(one(t, ms, "Service", name), "spec", "ports"))
		if len(ports) != 1 || dig(ports[0], "targetPort") != want {
			t.Errorf("Service %s ports %v, want only %s", name, ports, want)
		}
	}
	if len(find(ms, "Ingress", "")) != 0 || len(find(ms, "ServiceMonitor", "")) != 0 || len(find(ms, "Secret", "")) != 0 {
		t.Error("an Ingress, ServiceMonitor or Secret rendered though none was asked for")
	}
	sc := dig(c, "securityContext")
	if dig(sc, "readOnlyRootFilesystem") != true || dig(sc, "allowPrivilegeEscalation") != false {
		t.Errorf("container securityContext %v", sc)
	}
}

// Several replicas: Redis from a Secret, nginx-ingress cookie affinity for long-polling, a
// ServiceMonitor on the admin port, the admin token from a Secret, a disruption budget.
func TestHelmSeveralReplicas(t *testing.T) {
	ms := mustRender(t, []string{filepath.Join(chartDir, "ci", "several-replicas-values.yaml")})
	env := envOf(container(t, ms))
	cfg := gatewayConfig(t, ms, env)
	for k, want := range map[string]string{
		"SYNCGATE_REDIS":            "secret:syncgate-redis/redis-url",
		"SYNCGATE_ADMIN_TOKEN":      "secret:syncgate-admin/admin-token",
		"SYNCGATE_SHUTDOWN_TIMEOUT": "30s",
		"SYNCGATE_MEMBERSHIPS_PATH": "/orgs/{org}/me",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if cfg.MaxConnectionsPerIP != 2048 || cfg.RecoveryWindow.Minutes() != 5 || len(cfg.TrustedProxies) != 1 {
		t.Errorf("config %+v: limits, recovery window or trusted proxies not passed", cfg)
	}
	d := one(t, ms, "Deployment", "rel-syncgate")
	if dig(d, "spec", "replicas") != 3 {
		t.Errorf("replicas %v", dig(d, "spec", "replicas"))
	}
	if grace, _ := dig(d, "spec", "template", "spec", "terminationGracePeriodSeconds").(int); grace < 35 {
		t.Errorf("terminationGracePeriodSeconds %d with a 30s --shutdown-timeout", grace)
	}
	vol := list(dig(d, "spec", "template", "spec", "volumes"))
	if !slices.ContainsFunc(vol, func(v any) bool {
		return dig(v, "configMap", "name") == "my-triggers" && dig(v, "configMap", "items", "0", "key") == "zetkin.yaml"
	}) {
		t.Errorf("existing ConfigMap my-triggers (key zetkin.yaml) not mounted: %v", vol)
	}
	if len(find(ms, "ConfigMap", "")) != 0 {
		t.Error("a ConfigMap rendered although triggers.existingConfigMap names one")
	}

	ing := one(t, ms, "Ingress", "rel-syncgate")
	ann := asMap(dig(ing, "metadata", "annotations"))
	for k, want := range map[string]string{
		"nginx.ingress.kubernetes.io/affinity":           "cookie",
		"nginx.ingress.kubernetes.io/affinity-mode":      "persistent",
		"nginx.ingress.kubernetes.io/proxy-read-timeout": "120",
	} {
		if ann[k] != want {
			t.Errorf("Ingress annotation %s = %v, want %s", k, ann[k], want)
		}
	}
	if str(ann["nginx.ingress.kubernetes.io/session-cookie-name"]) == "" {
		t.Error("no affinity cookie name")
	}
	if got := dig(ing, "spec", "rules", "0", "http", "paths", "0", "backend", "service"); dig(got, "name") != "rel-syncgate" || dig(got, "port", "name") != "http" {
		t.Errorf("Ingress backend %v, want rel-syncgate port http", got)
	}
	if dig(ing, "spec", "ingressClassName") != "nginx" || dig(ing, "spec", "tls", "0", "secretName") != "realtime-tls" {
		t.Errorf("Ingress class or TLS not passed: %v", dig(ing, "spec"))
	}

	sm := one(t, ms, "ServiceMonitor", "rel-syncgate")
	if dig(sm, "spec", "endpoints", "0", "port") != "admin" || dig(sm, "spec", "endpoints", "0", "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %v, want port admin /metrics", dig(sm, "spec", "endpoints"))
	}
	if dig(sm, "metadata", "labels", "release") != "prometheus" {
		t.Error("serviceMonitor.labels not on the ServiceMonitor")
	}
	adminSvc := one(t, ms, "Service", "rel-syncgate-admin")
	sel := asMap(dig(sm, "spec", "selector", "matchLabels"))
	for k, v := range sel {
		if dig(adminSvc, "metadata", "labels", k) != v {
			t.Errorf("ServiceMonitor selects %s=%v, which the admin Service lacks", k, v)
		}
	}
	if dig(one(t, ms, "Service", "rel-syncgate"), "metadata", "labels", "app.kubernetes.io/component") == "admin" {
		t.Error("the main Service carries the admin component label: the ServiceMonitor would scrape its port too")
	}
	if dig(one(t, ms, "PodDisruptionBudget", "rel-syncgate"), "spec", "maxUnavailable") != 1 {
		t.Error("no PodDisruptionBudget with maxUnavailable 1")
	}
}

// Redis Cluster and Sentinel: the addresses reach the gateway's flags (and the ACL user and
// the password from a Secret); naming Redis two ways fails to render.
func TestHelmRedisClusterAndSentinel(t *testing.T) {
	ms := mustRender(t, []string{filepath.Join(chartDir, "ci", "redis-cluster-values.yaml")})
	env := envOf(container(t, ms))
	cfg := gatewayConfig(t, ms, env)
	if cfg.RedisCluster != "redis-0.redis.default.svc:6379,redis-1.redis.default.svc:6379,redis-2.redis.default.svc:6379" {
		t.Errorf("--redis-cluster %q", cfg.RedisCluster)
	}
	if cfg.Redis != "" || cfg.RedisUsername != "syncgate" || env["SYNCGATE_REDIS_PASSWORD"] != "secret:syncgate-redis/redis-password" {
		t.Errorf("--redis %q, --redis-username %q, password %q: want none, syncgate, from the Secret", cfg.Redis, cfg.RedisUsername, env["SYNCGATE_REDIS_PASSWORD"])
	}

	ms = mustRender(t, []string{filepath.Join(chartDir, "ci", "redis-sentinel-values.yaml")})
	env = envOf(container(t, ms))
	cfg = gatewayConfig(t, ms, env)
	if want := "mymaster@redis-sentinel-0.redis-sentinel.default.svc:26379,redis-sentinel-1.redis-sentinel.default.svc:26379,redis-sentinel-2.redis-sentinel.default.svc:26379"; cfg.RedisSentinel != want {
		t.Errorf("--redis-sentinel %q, want %q", cfg.RedisSentinel, want)
	}

	for _, two := range [][]string{
		{"redis.url=redis://r:6379/0", "redis.cluster={r-0:6379}"},
		{"redis.existingSecret=r", "redis.sentinel.masterName=m", "redis.sentinel.addresses={s:26379}"},
		{"redis.cluster={r-0:6379}", "redis.sentinel.masterName=m", "redis.sentinel.addresses={s:26379}"},
	} {
		if _, err := render(t, nil, append([]string{"upstream.url=http://a/v1"}, two...)...); err == nil || !strings.Contains(err.Error(), "name Redis one way") {
			t.Errorf("%v: %v, want a failure", two, err)
		}
	}
	if _, err := render(t, nil, "upstream.url=http://a/v1", "redis.sentinel.masterName=m"); err == nil || !strings.Contains(err.Error(), "redis.sentinel.addresses") {
		t.Errorf("sentinel without addresses: %v, want a failure naming redis.sentinel.addresses", err)
	}
}

// Session mode: the OAuth client from a Secret (never a plain env value), sessions in Redis
// with several replicas; no OAuth client at all fails to render.
func TestHelmSessionMode(t *testing.T) {
	ms := mustRender(t, []string{filepath.Join(chartDir, "ci", "session-values.yaml")})
	env := envOf(container(t, ms))
	cfg := gatewayConfig(t, ms, env)
	if cfg.Auth != "session" || cfg.SessionStore != "redis" || !cfg.Drive {
		t.Errorf("auth %q, session store %q, drive %v; want session, redis, true", cfg.Auth, cfg.SessionStore, cfg.Drive)
	}
	if cfg.OAuthClientSecret != "not-a-real-secret" || cfg.AdminUIUser != "admin" || len(cfg.AdminUIOrigins) != 1 || !cfg.AdminUIReadOnly {
		t.Errorf("OAuth client secret %q, Admin UI user %q, origins %v, read-only %v: not passed", cfg.OAuthClientSecret, cfg.AdminUIUser, cfg.AdminUIOrigins, cfg.AdminUIReadOnly)
	}
	if cfg.DriveEndpoint != "https://drive-proxy.internal/drive/v3/" || cfg.DrivePollInterval.Seconds() != 5 || cfg.DriveBackoffMax.Minutes() != 2 {
		t.Errorf("Drive endpoint %q, poll %s, backoff max %s: not passed", cfg.DriveEndpoint, cfg.DrivePollInterval, cfg.DriveBackoffMax)
	}
	if env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://otel-collector.observability.svc:4318" || env["OTEL_SERVICE_NAME"] != "rel-syncgate" ||
		env["OTEL_TRACES_SAMPLER_ARG"] != "0.25" || !strings.Contains(env["OTEL_RESOURCE_ATTRIBUTES"], "k8s.pod.name=$(POD_NAME)") {
		t.Errorf("tracing environment %v", env)
	}
	for _, k := range []string{"SYNCGATE_OAUTH_CLIENT_ID", "SYNCGATE_OAUTH_CLIENT_SECRET", "SYNCGATE_ADMIN_TOKEN", "SYNCGATE_ADMIN_UI_PASSWORD_HASH"} {
		if !strings.HasPrefix(env[k], "secret:rel-syncgate/") {
			t.Errorf("%s = %q, want it from the chart's Secret", k, env[k])
		}
	}
	sec := one(t, ms, "Secret", "rel-syncgate")
	for _, k := range []string{"oauth-client-id", "oauth-client-secret", "admin-token", "admin-ui-password-hash"} {
		if str(dig(sec, "data", k)) == "" {
			t.Errorf("Secret has no %s", k)
		}
	}
	if dig(one(t, ms, "Deployment", "rel-syncgate"), "spec", "template", "metadata", "annotations", "checksum/secret") == nil {
		t.Error("no checksum/secret annotation: a new secret would not roll the pods")
	}
	if _, err := render(t, nil, "upstream.url=http://a/v1", "auth.mode=session"); err == nil || !strings.Contains(err.Error(), "session.oauth") {
		t.Errorf("session mode without an OAuth client: %v, want a failure naming session.oauth", err)
	}
	single := mustRender(t, nil, "upstream.url=http://a/v1", "auth.mode=session", "session.oauth.existingSecret=oauth")
	if got := envOf(container(t, single))["SYNCGATE_SESSION_STORE"]; got != "bolt:/var/lib/syncgate/sessions.db" {
		t.Errorf("one replica without Redis: session store %q, want bolt on the data volume", got)
	}
}

// The demo values render a gateway the binary accepts with no upstream.
func TestHelmDemo(t *testing.T) {
	ms := mustRender(t, []string{filepath.Join(chartDir, "ci", "demo-values.yaml")})
	if cfg := gatewayConfig(t, ms, envOf(container(t, ms))); !cfg.Demo {
		t.Error("demo values: --demo not set")
	}
}
