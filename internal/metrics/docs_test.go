package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v4"
)

// The dashboard, the scrape configs and the metric list in the docs are
// what operators copy; these tests keep them in step with the code.

const examples = "../../docs/examples"

// families records something in every metric and returns the families a
// scrape then has, by name: a vector without any series is not exposed,
// so this is the full set of names a dashboard can rely on.
func families(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	m := newMetrics(t)
	m.Login("school", LoginSuccess)
	m.TokenIssued("teachers", RoleOwner)
	m.AccessDenied("")
	m.ObserveBackend("school", OpLDAPBind, time.Millisecond)
	m.Reservation(ReservationAllowed)
	m.Invite(InviteCreated)
	if err := m.RateLimiterKeys("per_user", func() int { return 0 }); err != nil {
		t.Fatal(err)
	}
	m.HTTPMiddleware(nil)(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	m.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/metrics", nil))
	got, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range got {
		out[f.GetName()] = f
	}
	return out
}

// seriesNames maps every name a query can use (histograms: _bucket, _sum,
// _count) to the label names of its family.
func seriesNames(fams map[string]*dto.MetricFamily) map[string][]string {
	out := map[string][]string{}
	for name, f := range fams {
		var labels []string
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		out[name] = labels
		if f.GetType() == dto.MetricType_HISTOGRAM {
			out[name+"_bucket"] = append(slices.Clone(labels), "le")
			out[name+"_sum"] = labels
			out[name+"_count"] = labels
		}
	}
	return out
}

var (
	metricNameRE = regexp.MustCompile(`\b(?:jitsi_gate|go|process|promhttp)_[a-zA-Z0-9_]+`)
	byRE         = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matchersRE   = regexp.MustCompile(`\{[^}]*\}`)
	matcherRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	// Labels Prometheus adds to every target, and Grafana's variables.
	targetLabels = []string{"instance", "job"}
)

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func TestGrafanaDashboardQueriesExistingMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examples, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana-dashboard.json is not valid JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard title %q, uid %q: both are needed for import", d.Title, d.UID)
	}
	known := seriesNames(families(t))

	var exprs []string
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, ok := q["query"].(string); ok {
				exprs = append(exprs, s)
			}
		}
	}
	titles := map[string]bool{}
	queried := map[string]bool{}
	for _, p := range d.Panels {
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q has no gridPos", p.Title)
		}
		if titles[p.Title] {
			t.Errorf("two panels are titled %q", p.Title)
		}
		titles[p.Title] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" {
				t.Errorf("panel %q: a target without expr or refId", p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}

	for _, expr := range exprs {
		// Metric names, not label names: drop by (...) and {...} first.
		bare := matchersRE.ReplaceAllString(byRE.ReplaceAllString(expr, ""), "")
		names := metricNameRE.FindAllString(bare, -1)
		if len(names) == 0 {
			t.Errorf("query names no metric: %s", expr)
		}
		allowed := slices.Clone(targetLabels)
		for _, n := range names {
			labels, ok := known[n]
			if !ok {
				t.Errorf("query uses %s, which jitsi-gate does not export: %s", n, expr)
				continue
			}
			queried[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")] = true
			allowed = append(allowed, labels...)
		}
		var used []string
		for _, m := range byRE.FindAllStringSubmatch(expr, -1) {
			for l := range strings.SplitSeq(m[1], ",") {
				used = append(used, strings.TrimSpace(l))
			}
		}
		for _, m := range matcherRE.FindAllStringSubmatch(expr, -1) {
			used = append(used, m[1])
		}
		for _, l := range used {
			if l != "" && !slices.Contains(allowed, l) {
				t.Errorf("query uses label %q, which its metrics %v do not have: %s", l, names, expr)
			}
		}
	}

	// Every jitsi-gate metric has a panel.
	for name := range families(t) {
		if strings.HasPrefix(name, "jitsi_gate_") && !queried[name] {
			t.Errorf("no panel queries %s", name)
		}
	}
	for _, want := range []string{"Logins by result", "Tokens issued by role", "Backend latency p95", "HTTP requests by code", "Rate limiter sizes"} {
		if !titles[want] {
			t.Errorf("no panel %q", want)
		}
	}
}

// TestOperationsDocListsEveryMetric: docs/operations.md names every
// jitsi-gate metric with its type and labels.
func TestOperationsDocListsEveryMetric(t *testing.T) {
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Metrics\n")
	if !ok {
		t.Fatal("docs/operations.md has no ## Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 3 {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = line
		}
	}
	for name, f := range families(t) {
		if !strings.HasPrefix(name, "jitsi_gate_") {
			continue
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("docs/operations.md does not list %s", name)
			continue
		}
		if typ := strings.ToLower(f.GetType().String()); !strings.Contains(row, typ) {
			t.Errorf("docs/operations.md: %s is a %s: %s", name, typ, row)
		}
		for _, l := range seriesNames(map[string]*dto.MetricFamily{name: f})[name] {
			if !strings.Contains(row, "`"+l+"`") {
				t.Errorf("docs/operations.md: %s row does not name its label %q", name, l)
			}
		}
	}
	for name := range rows {
		if strings.HasPrefix(name, "jitsi_gate_") {
			if _, ok := families(t)[name]; !ok {
				t.Errorf("docs/operations.md lists %s, which does not exist", name)
			}
		}
	}
}

func loadYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Load(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type scrapeConfig struct {
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `yaml:"source_labels"`
			Regex        string   `yaml:"regex"`
			Action       string   `yaml:"action"`
		} `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

type metricsListen struct {
	Metrics struct {
		Listen string `yaml:"listen"`
	} `yaml:"metrics"`
}

func listenPort(t *testing.T, where, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		t.Fatalf("%s: metrics.listen %q is not host:port", where, addr)
	}
	return port
}

func TestDockerScrapeConfig(t *testing.T) {
	dir := filepath.Join(examples, "docker-jitsi-meet")
	var cfg metricsListen
	loadYAML(t, filepath.Join(dir, "config.yaml"), &cfg)
	port := listenPort(t, "docker config.yaml", cfg.Metrics.Listen)

	var compose struct {
		Services map[string]struct {
			Ports []any `yaml:"ports"`
		} `yaml:"services"`
	}
	loadYAML(t, filepath.Join(dir, "jitsi-gate.yml"), &compose)
	svc, ok := compose.Services["jitsi-gate"]
	if !ok {
		t.Fatal("jitsi-gate.yml has no jitsi-gate service")
	}
	if len(svc.Ports) > 0 {
		t.Errorf("jitsi-gate.yml publishes ports %v: the metrics port must stay on the docker network", svc.Ports)
	}

	var sc scrapeConfig
	loadYAML(t, filepath.Join(dir, "prometheus-scrape.yml"), &sc)
	if len(sc.ScrapeConfigs) != 1 {
		t.Fatalf("prometheus-scrape.yml has %d jobs, want 1", len(sc.ScrapeConfigs))
	}
	job := sc.ScrapeConfigs[0]
	if job.MetricsPath != Path {
		t.Errorf("metrics_path = %q, want %q", job.MetricsPath, Path)
	}
	var targets []string
	for _, s := range job.StaticConfigs {
		targets = append(targets, s.Targets...)
	}
	if want := []string{"jitsi-gate:" + port}; !slices.Equal(targets, want) {
		t.Errorf("targets = %v, want %v (the service and metrics.listen's port)", targets, want)
	}
}

func TestKubernetesScrapeConfig(t *testing.T) {
	dir := filepath.Join(examples, "kubernetes")
	type port struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Port          int    `yaml:"port"`
		TargetPort    any    `yaml:"targetPort"`
	}
	type doc struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Data map[string]string `yaml:"data"`
		Spec struct {
			Ports    []port `yaml:"ports"`
			Template struct {
				Metadata struct {
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"metadata"`
				Spec struct {
					Containers []struct {
						Ports []port `yaml:"ports"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	loadDocs := func(name string) map[string]doc {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := yaml.NewLoader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]doc{}
		for {
			var d doc
			if err := dec.Load(&d); errors.Is(err, io.EOF) {
				return out
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if d.Kind != "" {
				out[d.Kind] = d
			}
		}
	}

	docs := loadDocs("jitsi-gate.yaml")
	var cfg metricsListen
	if err := yaml.Load([]byte(docs["ConfigMap"].Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	want := listenPort(t, "ConfigMap config.yaml", cfg.Metrics.Listen)

	dep := docs["Deployment"]
	var containerPort string
	for _, p := range dep.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == "metrics" {
			containerPort = strconv.Itoa(p.ContainerPort)
		}
	}
	if containerPort != want {
		t.Errorf("Deployment container port metrics = %q, want %s (metrics.listen)", containerPort, want)
	}
	ann := dep.Spec.Template.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != want || ann["prometheus.io/path"] != Path {
		t.Errorf("pod annotations %v, want prometheus.io/scrape true, port %s, path %s", ann, want, Path)
	}
	svc := docs["Service"]
	found := false
	for _, p := range svc.Spec.Ports {
		if p.Name == "metrics" && p.TargetPort == "metrics" {
			found = true
		}
	}
	if !found {
		t.Errorf("Service ports %v: no metrics port targeting the container's metrics port", svc.Spec.Ports)
	}

	sm := loadDocs("servicemonitor.yaml")["ServiceMonitor"]
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, which the Service's labels %v lack", k, v, svc.Metadata.Labels)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != Path {
		t.Errorf("ServiceMonitor endpoints = %+v, want port metrics, path %s", sm.Spec.Endpoints, Path)
	}

	var sc scrapeConfig
	loadYAML(t, filepath.Join(dir, "prometheus-scrape.yaml"), &sc)
	if len(sc.ScrapeConfigs) != 1 || sc.ScrapeConfigs[0].MetricsPath != Path {
		t.Fatalf("prometheus-scrape.yaml: want one job with metrics_path %s, got %+v", Path, sc.ScrapeConfigs)
	}
	keeps := map[string]string{}
	for _, r := range sc.ScrapeConfigs[0].RelabelConfigs {
		if r.Action == "keep" && len(r.SourceLabels) == 1 {
			keeps[r.SourceLabels[0]] = r.Regex
		}
	}
	if keeps["__meta_kubernetes_pod_container_port_name"] != "metrics" ||
		keeps["__meta_kubernetes_pod_label_app_kubernetes_io_name"] != dep.Metadata.Labels["app.kubernetes.io/name"] {
		t.Errorf("prometheus-scrape.yaml keeps %v, want the metrics port of pods labelled %s", keeps, dep.Metadata.Labels["app.kubernetes.io/name"])
	}
}
