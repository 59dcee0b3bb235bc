// Package helm renders the chart in docs/examples/kubernetes/helm with
// Helm's own Go packages (what `helm template` runs) and checks the
// objects, and the rendered config with the gateway's check-config
// (checkconfig_test.go). It is a module of its own so the gateway's go.mod does not
// carry Helm's dependencies; test/all.sh runs it.
package helm

import (
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

var chartDir = filepath.Join("..", "..", "docs", "examples", "kubernetes", "helm", "jitsi-gate")

// render is `helm template jitsi-gate CHART -n jitsi --set/-f values`.
func render(t *testing.T, values map[string]any) map[string]map[string]any {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	if err := ch.Validate(); err != nil {
		t.Fatalf("chart: %v", err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = "jitsi-gate", "jitsi"
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.30.0", Major: "1", Minor: "30"}
	rel, err := install.Run(ch, values)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	objs := make(map[string]map[string]any)
	dec := yaml.NewDecoder(strings.NewReader(rel.Manifest))
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, rel.Manifest)
		}
		if o == nil {
			continue
		}
		objs[o["kind"].(string)] = o
	}
	return objs
}

// get walks a path of map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no index %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func byName(t *testing.T, list any, name string) map[string]any {
	t.Helper()
	items, _ := list.([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

func TestChartRenders(t *testing.T) {
	tests := []struct {
		name         string
		values       map[string]any
		wantReplicas int
		wantMetrics  bool
	}{
		{"defaults", nil, 2, false},
		{"several replicas with metrics", map[string]any{
			"replicaCount": 4,
			"metrics":      map[string]any{"enabled": true, "port": 9100},
		}, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := render(t, tt.values)
			for _, kind := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"} {
				if objs[kind] == nil {
					t.Fatalf("no %s rendered", kind)
				}
			}
			if objs["Secret"] != nil {
				t.Error("the chart renders a Secret: secret values must come from an existing Secret, not from values")
			}
			dep := objs["Deployment"]
			if got := get(t, dep, "spec", "replicas"); got != tt.wantReplicas {
				t.Errorf("replicas = %v, want %d", got, tt.wantReplicas)
			}
			pod := get(t, dep, "spec", "template", "spec")
			c := get(t, pod, "containers", 0)
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
				if got := get(t, c, probe, "httpGet", "path"); got != path {
					t.Errorf("%s path = %v, want %s", probe, got, path)
				}
			}
			if get(t, pod, "securityContext", "runAsNonRoot") != true || get(t, c, "securityContext", "readOnlyRootFilesystem") != true ||
				get(t, c, "securityContext", "allowPrivilegeEscalation") != false {
				t.Errorf("security context: pod %v, container %v", get(t, pod, "securityContext"), get(t, c, "securityContext"))
			}
			if g := get(t, pod, "terminationGracePeriodSeconds"); g != 30 {
				t.Errorf("terminationGracePeriodSeconds = %v, want 30 (> shutdown delay 5s + timeout 20s)", g)
			}
			// Secrets: the existing Secret mounted read-only as files.
			vol := byName(t, get(t, pod, "volumes"), "secrets")
			if vol == nil || get(t, vol, "secret", "secretName") != "jitsi-gate" {
				t.Errorf("secrets volume = %v, want the Secret jitsi-gate", vol)
			}
			mount := byName(t, get(t, c, "volumeMounts"), "secrets")
			if mount == nil || mount["mountPath"] != "/run/secrets/jitsi-gate" || mount["readOnly"] != true {
				t.Errorf("secrets mount = %v", mount)
			}
			for _, env := range asList(get(t, c, "env")) {
				if _, ok := env.(map[string]any)["value"]; ok && regexp.MustCompile(`(?i)secret|password|dsn`).MatchString(env.(map[string]any)["name"].(string)) {
					t.Errorf("plain secret in the environment: %v", env)
				}
			}

			cfgText := get(t, objs["ConfigMap"], "data", "config.yaml").(string)
			var cfg map[string]any
			if err := yaml.Unmarshal([]byte(cfgText), &cfg); err != nil {
				t.Fatalf("config.yaml in the ConfigMap: %v\n%s", err, cfgText)
			}
			for path, want := range map[string]string{
				"jitsi.signing.secret_file": "/run/secrets/jitsi-gate/jwt-app-secret",
				"session.secret_file":       "/run/secrets/jitsi-gate/session-secret",
				"store.driver":              "postgres",
				"store.dsn_file":            "/run/secrets/jitsi-gate/postgres-dsn",
				"server.listen":             "0.0.0.0:8080",
				"server.shutdown_delay":     "5s",
			} {
				var v any = cfg
				for _, k := range strings.Split(path, ".") {
					v = get(t, v, k)
				}
				if v != want {
					t.Errorf("config %s = %v, want %s", path, v, want)
				}
			}
			// No plaintext secret: every secret-bearing key is a *_file.
			plain := regexp.MustCompile(`(?m)^\s*(secret|bind_password|client_secret|dsn|password):`)
			if m := plain.FindString(cfgText); m != "" {
				t.Errorf("ConfigMap holds a plaintext secret key %q:\n%s", strings.TrimSpace(m), cfgText)
			}

			// Metrics: container port, Service port and config together.
			ports := get(t, c, "ports")
			svcPorts := get(t, objs["Service"], "spec", "ports")
			hasMetrics := byName(t, ports, "metrics") != nil
			if hasMetrics != tt.wantMetrics || (byName(t, svcPorts, "metrics") != nil) != tt.wantMetrics ||
				(cfg["metrics"] != nil) != tt.wantMetrics {
				t.Errorf("metrics: container port %v, service ports %v, config %v; want enabled = %v", ports, svcPorts, cfg["metrics"], tt.wantMetrics)
			}
			if tt.wantMetrics {
				if p := byName(t, ports, "metrics")["containerPort"]; p != 9100 {
					t.Errorf("metrics containerPort = %v, want 9100", p)
				}
				if l := get(t, cfg, "metrics", "listen"); l != "0.0.0.0:9100" {
					t.Errorf("metrics.listen = %v", l)
				}
			}

			pdb := objs["PodDisruptionBudget"]
			if get(t, pdb, "spec", "maxUnavailable") != 1 {
				t.Errorf("PDB maxUnavailable = %v, want 1", get(t, pdb, "spec", "maxUnavailable"))
			}
			sel := get(t, pdb, "spec", "selector", "matchLabels")
			podLabels := get(t, dep, "spec", "template", "metadata", "labels").(map[string]any)
			for k, v := range sel.(map[string]any) {
				if podLabels[k] != v {
					t.Errorf("PDB selector %s=%v does not match the pods' labels %v", k, v, podLabels)
				}
			}
		})
	}
}

// TestChartRejectsMissingSecret: without a Secret the chart refuses to
// render instead of starting pods that cannot read their secrets.
func TestChartRejectsMissingSecret(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.ClientOnly, install.ReleaseName = true, true, "jitsi-gate"
	_, err = install.Run(ch, map[string]any{"secrets": map[string]any{"existingSecret": ""}})
	if err == nil || !strings.Contains(err.Error(), "secrets.existingSecret") {
		t.Errorf("render without a Secret: %v, want an error naming secrets.existingSecret", err)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
