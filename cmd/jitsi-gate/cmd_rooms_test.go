package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// roomsCLI runs jitsi-gate commands on the built-in demo configuration
// with its SQLite file (store.path: ${JITSI_GATE_DB}) in a temp dir.
func roomsCLI(t *testing.T) func(stdin string, args ...string) (string, string, int) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "rooms.db")
	getenv := func(k string) string {
		if k == "JITSI_GATE_DB" {
			return db
		}
		return ""
	}
	return func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		out, errOut, err := runCLI(t, stdin, getenv, args...)
		if err != nil {
			errOut += err.Error()
		}
		return squash(out), errOut, exitCode(err)
	}
}

// squash collapses the runs of spaces tabwriter aligns columns with.
func squash(s string) string {
	return regexp.MustCompile(` {2,}`).ReplaceAllString(s, " ")
}

func TestRoomsCLI(t *testing.T) {
	cli := roomsCLI(t)
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(stdin, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}

	out := mustRun("", "rooms", "create", "-name", "Mathe 7b", "-organizers", "teacher1,group:fachschaft-mathe",
		"-participants", "group:7b,guest1", "-lobby", "-max-occupants", "30", "-weekly", "mon 08:00-08:45,thu 10:00-10:45",
		"-from", "2026-09-01", "-until", "2027-07-31", "-password", "-")
	for _, want := range []string{"Mathe 7b (mathe7b)", "Join link: http://localhost:8080/join/mathe7b",
		"teacher1, group:fachschaft-mathe", "weekly mon 08:00-08:45,thu 10:00-10:45", "Password: none", "Max occupants: 30"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}

	// Usage errors: exit 2, nothing opened.
	for _, args := range [][]string{
		{"rooms"}, {"rooms", "frobnicate"}, {"rooms", "create"}, {"rooms", "create", "-name", "x", "-start", "2026-09-01T08:00:00Z"},
		{"rooms", "create", "-nam", "x"}, {"rooms", "import"}, {"rooms", "show"},
	} {
		if _, errOut, code := cli("", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
	// Bad rooms: exit 1, every problem named, nothing written.
	_, errOut, code := cli("", "rooms", "create", "-name", "a/b", "-weekly", "mon 09:00-08:00", "-timezone", "Mars/Base")
	if code != 1 || !strings.Contains(errOut, "-name:") || !strings.Contains(errOut, "-weekly:") ||
		!strings.Contains(errOut, "-timezone:") || !strings.Contains(errOut, "nothing was written") {
		t.Errorf("bad room: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := cli("", "rooms", "create", "-name", "MATHE 7B"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("duplicate: exit %d\n%s", code, errOut)
	}

	// Each command opens the store anew: the room survived.
	out = mustRun("", "rooms", "show", "-name", "mathe 7b", "-show-password", "-json")
	var res struct {
		ID, Room, URL, Password string
		Organizers              []string
		Version                 int64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("show -json: %v\n%s", err, out)
	}
	if res.Room != "mathe7b" || res.URL != "http://localhost:8080/join/mathe7b" || res.Version != 1 || len(res.Organizers) != 2 {
		t.Errorf("show -json: %+v", res)
	}
	if res.Password != "" {
		t.Errorf("password read from stdin although none was given: %q", res.Password)
	}

	// update changes only the flags given.
	out = mustRun("s3cret\n", "rooms", "update", "-name", "Mathe 7b", "-title", "Mathematik 7b", "-password", "-")
	if !strings.Contains(out, "Mathematik 7b (mathe7b)") || !strings.Contains(out, "teacher1, group:fachschaft-mathe") ||
		!strings.Contains(out, "Password: set") || strings.Contains(out, "s3cret") {
		t.Errorf("update output:\n%s", out)
	}
	out = mustRun("", "rooms", "show", "-name", "Mathe 7b", "-show-password")
	if !strings.Contains(out, "Password: s3cret") || !strings.Contains(out, "version 2") {
		t.Errorf("show after update:\n%s", out)
	}
	mustRun("", "rooms", "update", "-name", "Mathe 7b", "-rename", "Mathe 7c", "-weekly", "", "-from", "", "-until", "")
	if out := mustRun("", "rooms", "list"); !strings.Contains(out, "mathe7c") || !strings.Contains(out, "always open") || strings.Contains(out, "mathe7b") {
		t.Errorf("list after rename:\n%s", out)
	}

	// Import: a bad first line writes nothing and is named; -dry-run after
	// the file; then the real import; export→import changes nothing.
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "timetable.csv")
	var b strings.Builder
	b.WriteString("name;day;start;end;organizers\n")
	b.WriteString("Klasse 1;mo;08:00;08:45;teacher1\n")
	for i := 2; i <= 5; i++ {
		fmt.Fprintf(&b, "Klasse %d;tue;08:00;08:45;teacher%d\n", i, i)
	}
	os.WriteFile(csvFile, []byte(b.String()), 0o600)
	_, errOut, code = cli("", "rooms", "import", csvFile)
	if code != 1 || !strings.Contains(errOut, "line 2, column day") || !strings.Contains(errOut, "nothing was written") {
		t.Errorf("bad import: exit %d\n%s", code, errOut)
	}
	os.WriteFile(csvFile, []byte(strings.Replace(b.String(), ";mo;", ";mon;", 1)), 0o600)
	out = mustRun("", "rooms", "import", csvFile, "-dry-run")
	if !strings.Contains(out, "Dry run, nothing written: 5 to create, 0 to update, 0 unchanged.") {
		t.Errorf("dry run:\n%s", out)
	}
	if out := mustRun("", "rooms", "list", "-json"); strings.Contains(out, "klasse1") {
		t.Errorf("the dry run wrote:\n%s", out)
	}
	out = mustRun("", "rooms", "import", "-config", "", csvFile)
	if !strings.Contains(out, "Written: 5 to create") {
		t.Errorf("import:\n%s", out)
	}
	exported := filepath.Join(dir, "export.csv")
	mustRun("", "rooms", "export", "-excel", "-o", exported)
	if st, err := os.Stat(exported); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("export file: %v %v", st, err)
	}
	out = mustRun("", "rooms", "import", exported)
	if !strings.Contains(out, "Written: 0 to create, 0 to update, 6 unchanged.") {
		t.Errorf("export→import:\n%s", out)
	}

	out = mustRun("", "rooms", "delete", "-name", "Klasse 3")
	if !strings.Contains(out, "Deleted room Klasse 3") {
		t.Errorf("delete: %s", out)
	}
	if _, errOut, code := cli("", "rooms", "show", "-name", "Klasse 3"); code != 1 || !strings.Contains(errOut, "no such room") {
		t.Errorf("show a deleted room: exit %d %s", code, errOut)
	}
	if out := mustRun("", "migrate"); !upToDate(out, "sqlite") {
		t.Errorf("migrate: %s", out)
	}
}

// TestRoomsCLIPostgres: the same commands on PostgreSQL with the DSN in a
// file; a DSN that does not connect is reported at store.dsn_file without
// its password.
func TestRoomsCLIPostgres(t *testing.T) {
	dsn := testenv.PostgresDB(t, "cli_test_")
	if dsn == "" {
		return
	}
	dir := t.TempDir()
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeConfig := func(name, dsn string) string {
		os.WriteFile(filepath.Join(dir, name+".dsn"), []byte(dsn+"\n"), 0o600)
		cfg := strings.Replace(string(example), `  driver: sqlite
`, "  driver: postgres\n  dsn_file: "+name+".dsn\n", 1)
		cfg = strings.Replace(cfg, `  path: "${JITSI_GATE_DB:-jitsi-gate.db}"
`, "", 1)
		path := filepath.Join(dir, name+".yaml")
		os.WriteFile(path, []byte(cfg), 0o600)
		return path
	}
	good := writeConfig("good", dsn)
	out, errOut, err := runCLI(t, "", nil, "migrate", "-config", good)
	if err != nil || !upToDate(out, "postgres") {
		t.Fatalf("migrate: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := runCLI(t, "", nil, "rooms", "create", "-config", good, "-name", "Physik 9a", "-weekly", "fri 11:00-12:30"); err != nil ||
		!strings.Contains(out, "physik9a") {
		t.Fatalf("create: %v\n%s%s", err, out, errOut)
	}
	if out, _, err := runCLI(t, "", nil, "rooms", "list", "-config", good); err != nil || !strings.Contains(out, "weekly fri 11:00-12:30") {
		t.Errorf("list: %v\n%s", err, out)
	}

	bad := writeConfig("bad", "postgres://gate:hunter2secret@127.0.0.1:1/gate?sslmode=disable&connect_timeout=2")
	_, errOut, err = runCLI(t, "", nil, "rooms", "list", "-config", bad)
	if exitCode(err) != 1 || !strings.Contains(errOut, "store.dsn_file") || strings.Contains(errOut, "hunter2secret") {
		t.Errorf("unreachable database: exit %d\n%s", exitCode(err), errOut)
	}
	garbled := writeConfig("garbled", "postgres://gate:hunter2secret@127.0.0.1:notaport/gate")
	_, errOut, err = runCLI(t, "", nil, "migrate", "-config", garbled)
	if exitCode(err) != 1 || !strings.Contains(errOut, "not a valid PostgreSQL connection string") || strings.Contains(errOut, "hunter2secret") {
		t.Errorf("unparsable DSN: exit %d\n%s", exitCode(err), errOut)
	}
}

// upToDate reports whether migrate said the driver's schema is current,
// whatever its version (numbers grow with every feature).
func upToDate(out, driver string) bool {
	return strings.Contains(out, driver+" schema version ") && strings.Contains(out, " (up to date)")
}
