package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// The front door: a real nginx, configured with the locations of Jitsi's
// own nginx site (the jitsi-meet package's and docker-jitsi-meet's
// meet.conf: static files, /config.js, BOSH, rooms through @root_path,
// tenants), plus the snippets of docs/examples, in front of the real
// program and a stand-in Jitsi (its web files in a directory, its BOSH a
// test server).

const examplesDir = "../../docs/examples"

// jitsiSite is the server block of a Jitsi site, reduced to what decides
// where a request goes (headers, TLS and caching left out). %[1]s: the
// directory of the stand-in's web files, %[2]s: the BOSH stand-in, %[3]s:
// the includes of the snippets under test, where the jitsi-gate docs tell
// admins to put them (before Jitsi's locations; nginx's matching does not
// depend on the order, except among regex locations).
const jitsiSite = `
    root %[1]s;
    index index.html;
    error_page 404 /static/404.html;
    set $prefix "";
%[3]s
    location = /config.js { alias %[1]s/config.js; }
    location = /external_api.js { alias %[1]s/libs/external_api.min.js; }
    location ~ ^/(libs|css|static|images|fonts|lang|sounds|connection_optimization|.well-known)/(.*)$ {
        alias %[1]s/$1/$2;
    }
    location = /http-bind {
        proxy_pass http://%[2]s/http-bind?prefix=$prefix&$args;
    }
    location ~ ^/([^/?&:'"]+)$ {
        try_files $uri @root_path;
    }
    location @root_path {
        rewrite ^/(.*)$ / break;
    }
    location ~ ^/([^/?&:'"]+)/config.js$ {
        set $subdomain "$1.";
        set $subdir "$1/";
        alias %[1]s/config.js;
    }
    location ~ ^/([^/?&:'"]+)/(.*)$ {
        set $subdomain "$1.";
        set $subdir "$1/";
        rewrite ^/([^/?&:'"]+)/(.*)$ /$2;
    }
`

// standInJitsiFiles writes the stand-in's web files: each says what it is.
func standInJitsiFiles(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "jitsi-meet")
	for name, body := range map[string]string{
		"index.html":                  "<!doctype html><title>Jitsi Meet</title><p>jitsi stand-in: index.html</p>",
		"config.js":                   "// jitsi stand-in: config.js\n",
		"libs/app.bundle.min.js":      "// jitsi stand-in: app.bundle.min.js\n",
		"libs/external_api.min.js":    "// jitsi stand-in: external_api.min.js\n",
		"static/close.html":           "jitsi stand-in: static/close.html",
		"static/404.html":             "jitsi stand-in: 404",
		"css/all.css":                 "/* jitsi stand-in: all.css */",
		"images/watermark.svg":        "<svg><!-- jitsi stand-in --></svg>",
		"sounds/joined.mp3":           "jitsi stand-in: sound",
		"lang/main-de.json":           `{"standin":"jitsi"}`,
		"fonts/jitsi.woff":            "jitsi stand-in: font",
		".well-known/assetlinks.json": "[]",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startNginx runs nginx in the foreground with site (a server block body)
// listening on addr, and stops it when the test ends.
func startNginx(t *testing.T, bin, addr, site string) {
	t.Helper()
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		// Workers would run as nobody and could not read the test's
		// private temporary directories.
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    default_type application/octet-stream;
    server {
        listen %[3]s;
        server_name meet.example.com;
%[4]s
    }
}
`, user, dir, addr, site)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t refuses the config: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx config:\n%s\nnginx error log:\n%s%s", conf, log, out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s%s", err, log, out.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/config.js")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// snippet reads an example snippet and points its upstream at the
// gateway under test; nothing else in it changes.
func snippet(t *testing.T, name, upstream, gateway string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if upstream != "" {
		if !strings.Contains(s, upstream) {
			t.Fatalf("%s does not proxy to %s", name, upstream)
		}
		s = strings.ReplaceAll(s, upstream, gateway)
	}
	return s
}

// behindNginx is a gateway config listening on addr with public_url
// <base>/_auth (nginx at base).
func behindNginx(t *testing.T, addr, base string) string {
	t.Helper()
	cfg := strings.Replace(hsGatewayHead(addr), fmt.Sprintf(`public_url: "http://%s"`, addr),
		fmt.Sprintf(`public_url: "%s/_auth"`, base), 1)
	if !strings.Contains(cfg, base+"/_auth") {
		t.Fatalf("could not set public_url in:\n%s", cfg)
	}
	return cfg + fmt.Sprintf(`store: {path: %q}
backends:
  - {id: demo, type: static, users: [{username: teacher, password_hash: "%s", groups: [teachers]}]}
rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner}
`, filepath.Join(t.TempDir(), "gate.db"), hash(t, "pw"))
}

// noRedirects is a client that shows each hop.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func fetch(t *testing.T, u string) (int, string, string) {
	t.Helper()
	resp, err := noRedirects.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestFrontDoorThroughNginx(t *testing.T) {
	bin := testenv.Nginx(t)
	if bin == "" {
		return
	}
	web := standInJitsiFiles(t)
	bosh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "jitsi stand-in: BOSH %s", r.URL.Path)
	}))
	t.Cleanup(bosh.Close)
	boshAddr := strings.TrimPrefix(bosh.URL, "http://")

	variants := []struct {
		name string
		// gateSnippet is the /_auth/ snippet and its upstream; front the
		// front-door snippet.
		gateSnippet, upstream, front string
	}{
		{"docker-jitsi-meet", "docker-jitsi-meet/nginx-custom/jitsi-gate.conf", "http://jitsi-gate.meet.jitsi:8080",
			"docker-jitsi-meet/nginx-custom/jitsi-gate-front-door.conf"},
		{"debian", "debian/nginx-jitsi-gate.conf", "http://127.0.0.1:8080", "debian/nginx-jitsi-gate-front-door.conf"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			nginxAddr, gateAddr := closedAddr(t), freePort(t)
			base := "http://" + nginxAddr
			gate := snippet(t, v.gateSnippet, v.upstream, "http://"+gateAddr)
			front := snippet(t, v.front, "", "")
			startNginx(t, bin, nginxAddr, fmt.Sprintf(jitsiSite, web, boshAddr, gate+front))
			startGateway(t, behindNginx(t, gateAddr, base), nil)

			// The exact root: to the gateway's welcome page.
			status, loc, _ := fetch(t, base+"/")
			if status != http.StatusFound || loc != "/_auth/" {
				t.Fatalf("GET /: %d Location %q, want 302 to /_auth/", status, loc)
			}
			if status, loc, _ := fetch(t, base+"/?lang=de"); status != http.StatusFound || loc != "/_auth/?lang=de" {
				t.Errorf("GET /?lang=de: %d Location %q, want 302 to /_auth/?lang=de", status, loc)
			}
			if status, _, body := fetch(t, base+loc); status != http.StatusOK || !strings.Contains(body, `id="room-form"`) {
				t.Errorf("GET %s (after the root's redirect): %d, want the gateway's welcome page:\n%s", loc, status, body)
			}

			for _, tt := range []struct{ path, want string }{
				{"/mathe-7b", "jitsi stand-in: index.html"},
				{"/Mathe-Übung", "jitsi stand-in: index.html"},
				{"/school-a/mathe-7b", "jitsi stand-in: index.html"},
				{"/school-a/", "/_auth/"}, // a tenant's root is the front door too
				{"/config.js", "jitsi stand-in: config.js"},
				{"/school-a/config.js", "jitsi stand-in: config.js"},
				{"/external_api.js", "jitsi stand-in: external_api.min.js"},
				{"/libs/app.bundle.min.js", "jitsi stand-in: app.bundle.min.js"},
				{"/static/close.html", "jitsi stand-in: static/close.html"},
				{"/css/all.css", "jitsi stand-in: all.css"},
				{"/lang/main-de.json", `"standin":"jitsi"`},
				{"/http-bind", "jitsi stand-in: BOSH /http-bind"},
				{"/_auth/login", `name="username"`},
				{"/_auth/healthz", `"status"`},
				{"/_auth/static/css/style.css", "--primary"},
			} {
				status, loc, body := fetch(t, base+tt.path)
				if status == http.StatusFound {
					if loc != tt.want {
						t.Errorf("GET %s: redirected to %q, want %q", tt.path, loc, tt.want)
					}
					continue
				}
				if status != http.StatusOK || !strings.Contains(body, tt.want) {
					t.Errorf("GET %s: %d, want %q in:\n%.300s", tt.path, status, tt.want, body)
				}
			}
		})
	}

	// Going back: without the front-door snippet the root is Jitsi's
	// welcome page again, and /_auth/ still the gateway.
	t.Run("without the front door", func(t *testing.T) {
		nginxAddr, gateAddr := closedAddr(t), freePort(t)
		base := "http://" + nginxAddr
		gate := snippet(t, "debian/nginx-jitsi-gate.conf", "http://127.0.0.1:8080", "http://"+gateAddr)
		startNginx(t, bin, nginxAddr, fmt.Sprintf(jitsiSite, web, boshAddr, gate))
		startGateway(t, behindNginx(t, gateAddr, base), nil)
		if status, _, body := fetch(t, base+"/"); status != http.StatusOK || !strings.Contains(body, "jitsi stand-in: index.html") {
			t.Errorf("GET / without the front door: %d, want Jitsi's page:\n%.300s", status, body)
		}
		if status, _, body := fetch(t, base+"/_auth/"); status != http.StatusOK || !strings.Contains(body, `id="room-form"`) {
			t.Errorf("GET /_auth/: %d, want the gateway's welcome page", status)
		}
	})
}

// TestFrontDoorIngressExample: the Kubernetes front door is an Ingress for
// exactly "/" that redirects (302) to the gateway under /_auth/ on the same
// host as the gateway's own Ingress. (No ingress controller runs in the
// tests; the nginx test above checks the same `location = /` redirect.)
func TestFrontDoorIngressExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examplesDir, "kubernetes", "front-door-ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ing struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Spec struct {
			IngressClassName string `yaml:"ingressClassName"`
			Rules            []struct {
				Host string `yaml:"host"`
				HTTP struct {
					Paths []struct {
						Path     string `yaml:"path"`
						PathType string `yaml:"pathType"`
					} `yaml:"paths"`
				} `yaml:"http"`
			} `yaml:"rules"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &ing); err != nil {
		t.Fatalf("front-door-ingress.yaml: %v", err)
	}
	if ing.Kind != "Ingress" || ing.Spec.IngressClassName != "nginx" || len(ing.Spec.Rules) != 1 ||
		len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("front-door-ingress.yaml is not one nginx Ingress with one path: %+v", ing)
	}
	p := ing.Spec.Rules[0].HTTP.Paths[0]
	if p.Path != "/" || p.PathType != "Exact" {
		t.Errorf("path %q %s, want / Exact (the bare root only; Prefix would take every room)", p.Path, p.PathType)
	}
	host := ing.Spec.Rules[0].Host
	if got, want := ing.Metadata.Annotations["nginx.ingress.kubernetes.io/temporal-redirect"], "https://"+host+"/_auth/"; got != want {
		t.Errorf("temporal-redirect %q, want %q", got, want)
	}
	if _, ok := ing.Metadata.Annotations["nginx.ingress.kubernetes.io/permanent-redirect"]; ok {
		t.Error("a permanent redirect would stay in browsers after going back")
	}
	gate, err := os.ReadFile(filepath.Join(examplesDir, "kubernetes", "jitsi-gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gate), "- host: "+host+"\n") || !strings.Contains(string(gate), "- path: /_auth\n") {
		t.Errorf("jitsi-gate.yaml's Ingress does not serve /_auth on %s", host)
	}
}
