package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// No Docker engine (and no hadolint, which Debian does not package) runs in
// CI, so these tests are the Dockerfile's lint: the structure the issue
// asks for, and the build command kept identical to test/build-static.sh,
// which CI does run.

const repoRoot = "../.."

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stages splits the instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

func find(ins []instruction, cmd string) []instruction {
	var out []instruction
	for _, in := range ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("line %d: %s %s is not in exec form (JSON array): %v", in.line, in.cmd, in.args, err)
	}
	return v
}

func TestDockerfileBuildCommandMatchesScript(t *testing.T) {
	var dockerBuild []string
	for _, in := range find(parseDockerfile(t), "RUN") {
		if strings.Contains(in.args, "go build") {
			dockerBuild = append(dockerBuild, in.args)
		}
	}
	if len(dockerBuild) != 1 {
		t.Fatalf("Dockerfile has %d RUN ... go build lines, want 1: %q", len(dockerBuild), dockerBuild)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "test", "build-static.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// A command line (not an echo or a comment): optional VAR=value
	// assignments, then go build.
	buildLine := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*=\S* )*go build `)
	var scriptBuild []string
	for _, line := range strings.Split(string(script), "\n") {
		if line = strings.TrimSpace(line); buildLine.MatchString(line) {
			scriptBuild = append(scriptBuild, line)
		}
	}
	if len(scriptBuild) != 1 {
		t.Fatalf("test/build-static.sh has %d go build lines, want 1: %q", len(scriptBuild), scriptBuild)
	}
	if dockerBuild[0] != scriptBuild[0] {
		t.Errorf("the build commands drifted apart:\nDockerfile:          %s\ntest/build-static.sh: %s", dockerBuild[0], scriptBuild[0])
	}
	for _, want := range []string{"CGO_ENABLED=0 go build", "-trimpath", "-s -w", "-X main.version=${VERSION}", "./cmd/jitsi-gate"} {
		if !strings.Contains(dockerBuild[0], want) {
			t.Errorf("build command lacks %q: %s", want, dockerBuild[0])
		}
	}
	if !strings.Contains(string(script), "set -euo pipefail") {
		t.Error("test/build-static.sh does not stop on errors (set -euo pipefail)")
	}
	if fi, err := os.Stat(filepath.Join(repoRoot, "test", "build-static.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Error("test/build-static.sh is not executable")
	}
}

func TestDockerfileStructure(t *testing.T) {
	ins := parseDockerfile(t)
	st := stages(ins)
	if len(st) < 2 {
		t.Fatalf("%d stage(s); want a multi-stage build (builder + minimal final image)", len(st))
	}

	// Base images: tagged (no implicit or explicit latest).
	tagRE := regexp.MustCompile(`^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$`)
	for _, in := range find(ins, "FROM") {
		image := strings.Fields(in.args)[0]
		if strings.HasPrefix(image, "--platform") {
			image = strings.Fields(in.args)[1]
		}
		if !tagRE.MatchString(image) {
			t.Errorf("line %d: FROM %s: not a plain image reference", in.line, image)
			continue
		}
		if !strings.Contains(image, ":") && !strings.Contains(image, "@") {
			t.Errorf("line %d: FROM %s has no tag (means latest)", in.line, image)
		}
		if strings.Contains(image, ":latest") {
			t.Errorf("line %d: FROM %s uses latest", in.line, image)
		}
	}
	if b := st[0][0].args; !strings.HasPrefix(b, "golang:1.26") {
		t.Errorf("builder is %s, want golang:1.26-…", b)
	}

	// Layer caching: modules are downloaded before the source is copied.
	order := []string{}
	for _, in := range st[0] {
		switch {
		case in.cmd == "COPY" && in.args == "go.mod go.sum ./":
			order = append(order, "copy-mod")
		case in.cmd == "RUN" && in.args == "go mod download":
			order = append(order, "download")
		case in.cmd == "COPY" && in.args == ". .":
			order = append(order, "copy-all")
		}
	}
	if !slices.Equal(order, []string{"copy-mod", "download", "copy-all"}) {
		t.Errorf("builder order %v, want COPY go.mod go.sum → RUN go mod download → COPY . .", order)
	}

	// No remote ADDs anywhere; no secrets in ENV/ARG.
	for _, in := range find(ins, "ADD") {
		if strings.Contains(in.args, "://") {
			t.Errorf("line %d: ADD of a URL: %s", in.line, in.args)
		}
	}
	secretRE := regexp.MustCompile(`(?i)secret|password|token|private|_key`)
	for _, in := range append(find(ins, "ENV"), find(ins, "ARG")...) {
		if secretRE.MatchString(in.args) {
			t.Errorf("line %d: %s %s looks like a secret; secrets come from the mounted config or the environment at run time", in.line, in.cmd, in.args)
		}
	}

	final := st[len(st)-1]
	if img := final[0].args; !strings.HasPrefix(img, "gcr.io/distroless/static") && img != "scratch" {
		t.Errorf("final image %s; want distroless static (CA certificates, non-root) or scratch", img)
	}
	users := find(final, "USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER: it would run as root")
	}
	if u := strings.Split(users[len(users)-1].args, ":")[0]; u == "root" || u == "0" {
		t.Errorf("final USER is %s", users[len(users)-1].args)
	}

	// The binary the final stage copies is what HEALTHCHECK, ENTRYPOINT run.
	var binary string
	for _, in := range find(final, "COPY") {
		if f := strings.Fields(in.args); len(f) == 3 && strings.HasPrefix(f[0], "--from=") {
			binary = f[2]
		}
	}
	if binary == "" {
		t.Fatal("final stage copies no binary from the builder")
	}
	hc := find(final, "HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("final stage has %d HEALTHCHECK, want 1", len(hc))
	}
	_, hcCmd, ok := strings.Cut(hc[0].args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK without CMD: %s", hc[0].args)
	}
	if got := execForm(t, instruction{cmd: "HEALTHCHECK", args: hcCmd, line: hc[0].line}); len(got) < 2 || got[0] != binary || got[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK runs %v, want [%s healthcheck ...] (the binary itself; there is no shell or curl)", got, binary)
	}
	ep := find(final, "ENTRYPOINT")
	if len(ep) != 1 || !slices.Equal(execForm(t, ep[0]), []string{binary}) {
		t.Errorf("ENTRYPOINT = %v, want [%q]", ep, binary)
	}
	cmd := find(final, "CMD")
	if len(cmd) != 1 || !slices.Equal(execForm(t, cmd[0]), []string{"serve", "-config", "/etc/jitsi-gate/config.yaml"}) {
		t.Errorf("CMD = %v, want serve -config /etc/jitsi-gate/config.yaml", cmd)
	}
	// healthcheck finds server.listen through this variable.
	if env := find(final, "ENV"); len(env) != 1 || env[0].args != "JITSI_GATE_CONFIG=/etc/jitsi-gate/config.yaml" {
		t.Errorf("ENV = %v, want JITSI_GATE_CONFIG=/etc/jitsi-gate/config.yaml (the CMD's config, read by healthcheck)", env)
	}
	if ex := find(final, "EXPOSE"); len(ex) != 1 || ex[0].args != "8080" {
		t.Errorf("EXPOSE = %v, want 8080", ex)
	}
	if len(find(final, "RUN")) > 0 {
		t.Error("the final stage runs commands; distroless has no shell")
	}
}

// TestDockerignoreKeepsWhatTheBuildNeeds: the context is an allow-list, so
// a new top-level Go package directory must be added to it, or the image
// build breaks while CI (which builds from the checkout) stays green.
func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 || lines[0] != "*" {
		t.Fatalf(".dockerignore must start with * (an allow-list), got %q", lines)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !slices.Contains(lines, "!"+f) {
			t.Errorf(".dockerignore does not keep %s", f)
		}
	}
	for _, secret := range []string{"**/*.pem", "**/.env"} {
		if !slices.Contains(lines, secret) {
			t.Errorf(".dockerignore does not exclude %s", secret)
		}
	}
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == "test" || e.Name() == "docs" {
			continue
		}
		hasGo := false
		_ = filepath.WalkDir(filepath.Join(repoRoot, e.Name()), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				hasGo = true
				return filepath.SkipAll
			}
			return nil
		})
		if hasGo && !slices.Contains(lines, "!"+e.Name()+"/") {
			t.Errorf("directory %s has Go code but .dockerignore does not keep it (add !%s/)", e.Name(), e.Name())
		}
	}
}
