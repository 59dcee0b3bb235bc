package config

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConfigIsPure: the config package decodes and checks the file and
// imports no other package of the gateway; components check their own
// settings when cmd/jitsi-gate builds them (docs/architecture.md).
func TestConfigIsPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/jitsi-gate/jitsi-gate/") {
				t.Errorf("%s imports %s: internal/config must not depend on the gateway's packages", f, path)
			}
		}
	}
}
