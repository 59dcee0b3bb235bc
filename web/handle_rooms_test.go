package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
)

// page is one answer of a room page.
type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

func pageDo(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(b)}
}

// todayWeekday is the form value of today's weekday in the harness's
// room timezone (Europe/Berlin).
func todayWeekday(t *testing.T) string {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(time.Now().In(loc).Weekday().String()[:3])
}

// lessonForm is the room form of a lesson for group 7b that is open all
// of today.
func lessonForm(t *testing.T, name string) url.Values {
	return url.Values{
		"name": {name}, "title": {"Mathe " + name}, "participants": {"group:7b", ""}, "organizers": {"", ""},
		"weekly_day": {todayWeekday(t), "mon"}, "weekly_start": {"00:00", ""}, "weekly_end": {"24:00", ""},
		"window_date": {""}, "window_start": {""}, "window_end": {""}, "window_end_date": {""},
		"max_occupants": {"30"}, "lobby": {"on"}, "password": {"geheim"}, "version": {"0"},
	}
}

var versionField = regexp.MustCompile(`name="version" value="(\d+)"`)

func TestRoomPagesRights(t *testing.T) {
	h := newAPIHarness(t)
	student := h.login(t, "student")
	tests := []struct {
		name, method, path string
		form               url.Values
		status             int
		location           string
	}{
		{"signed out: my rooms", "GET", "/rooms", nil, 303, "/_auth/login"},
		{"signed out: new room", "POST", "/rooms/new", lessonForm(t, "x"), 303, "/_auth/login"},
		{"student: my rooms", "GET", "/rooms", nil, 403, ""},
		{"student: new room form", "GET", "/rooms/new", nil, 403, ""},
		{"student: create", "POST", "/rooms/new", lessonForm(t, "x"), 403, ""},
		{"student: import", "GET", "/rooms/import", nil, 403, ""},
		{"student: export", "GET", "/rooms/export", nil, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t)
			if strings.HasPrefix(tt.name, "student") {
				c = student
			}
			p := pageDo(t, c, tt.method, h.base+tt.path, tt.form, nil)
			if p.status != tt.status || p.location != tt.location {
				t.Fatalf("%d %q, want %d %q", p.status, p.location, tt.status, tt.location)
			}
			if tt.status == 403 && !strings.Contains(p.body, "may not plan rooms") {
				t.Errorf("refusal does not explain itself:\n%s", p.body)
			}
		})
	}
	teacher := h.login(t, "teacher")
	if p := pageDo(t, teacher, "GET", h.base+"/rooms/import", nil, nil); p.status != 403 {
		t.Errorf("teacher (manage_rooms, no admin) on the import page: %d, want 403", p.status)
	}
	if list, _ := h.rooms.List(context.Background(), rooms.Filter{}); len(list) != 0 {
		t.Errorf("refused requests wrote %d rooms", len(list))
	}
}

func TestRoomFormShowsEveryProblemAndWritesNothing(t *testing.T) {
	h := newAPIHarness(t)
	teacher := h.login(t, "teacher")
	form := lessonForm(t, "")
	form.Set("max_occupants", "many")
	form["weekly_start"] = []string{"10:00", ""}
	form["weekly_end"] = []string{"09:00", ""}
	form["window_date"] = []string{"2026-09-14"}
	form["window_start"] = []string{"08:00"}
	form["window_end"] = []string{""}
	form.Set("timezone", "Mars/Olympus")
	p := pageDo(t, teacher, "POST", h.base+"/rooms/new", form, nil)
	if p.status != 400 {
		t.Fatalf("status %d, want 400", p.status)
	}
	for _, field := range []string{"name", "max_occupants", "weekly", "windows", "timezone"} {
		if !strings.Contains(p.body, `id="`+field+`-error"`) {
			t.Errorf("no error next to %s", field)
		}
	}
	if !strings.Contains(p.body, `id="form-errors"`) || !strings.Contains(p.body, `aria-invalid="true"`) {
		t.Error("no summary or no field marked invalid")
	}
	// What was typed is shown again.
	for _, typed := range []string{`value="group:7b"`, `value="geheim"`, `value="Mars/Olympus"`, `value="2026-09-14"`} {
		if !strings.Contains(p.body, typed) {
			t.Errorf("the form lost %s", typed)
		}
	}
	if list, _ := h.rooms.List(context.Background(), rooms.Filter{}); len(list) != 0 {
		t.Errorf("a refused form wrote %d rooms", len(list))
	}
}

func TestRoomPagesLifecycle(t *testing.T) {
	h := newAPIHarness(t)
	teacher, teacher2, student := h.login(t, "teacher"), h.login(t, "teacher2"), h.login(t, "student")
	ctx := context.Background()

	newForm := pageDo(t, teacher, "GET", h.base+"/rooms/new", nil, nil)
	if newForm.status != 200 {
		t.Fatalf("new room form: %d", newForm.status)
	}
	for _, group := range []string{"group:teachers", "group:students", "group:it"} {
		if !strings.Contains(newForm.body, `<option value="`+group+`">`) {
			t.Errorf("the form does not suggest %s", group)
		}
	}

	p := pageDo(t, teacher, "POST", h.base+"/rooms/new", lessonForm(t, "Mathe 7b"), nil)
	if p.status != 303 || !strings.HasSuffix(p.location, "/edit?done=created") {
		t.Fatalf("create: %d %q\n%s", p.status, p.location, p.body)
	}
	rm, err := h.rooms.ByName(ctx, "", "Mathe 7b")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rm.Organizers, ","); got != "demo:teacher" {
		t.Errorf("organizers %q, want the writer demo:teacher", got)
	}
	if got := strings.Join(rm.Participants, ","); got != "group:7b" {
		t.Errorf("participants %q", got)
	}
	if rm.MaxOccupants != 30 || !rm.Lobby || rm.Password != "geheim" || len(rm.Weekly) != 1 {
		t.Errorf("room %+v", rm.Room)
	}
	edit := h.base + "/rooms/" + rm.ID + "/edit"

	// The dashboard: the student of 7b has it today, teacher2 does not.
	home := pageDo(t, student, "GET", h.base+"/", nil, nil)
	if !strings.Contains(home.body, "Mathe Mathe 7b") || !strings.Contains(home.body, `href="`+h.base+`/join/mathe7b"`) || !strings.Contains(home.body, "open now") {
		t.Errorf("student's dashboard lacks the lesson:\n%s", home.body)
	}
	if home := pageDo(t, teacher2, "GET", h.base+"/", nil, nil); strings.Contains(home.body, "mathe7b") {
		t.Error("teacher2 (no role in the room) sees it under today")
	}
	if !strings.Contains(pageDo(t, teacher, "GET", h.base+"/", nil, nil).body, "organizer") {
		t.Error("the organizer's dashboard does not mark the room as theirs")
	}

	// Someone who may not see the room: not found; on the list: absent.
	if p := pageDo(t, teacher2, "GET", edit, nil, nil); p.status != 404 {
		t.Errorf("teacher2 opens the edit page: %d, want 404", p.status)
	}
	if p := pageDo(t, teacher2, "GET", h.base+"/rooms", nil, nil); p.status != 200 || strings.Contains(p.body, "mathe7b") {
		t.Errorf("teacher2's rooms: %d, lists the room: %v", p.status, strings.Contains(p.body, "mathe7b"))
	}
	// A participant sees it but may not change it.
	if p := pageDo(t, student, "POST", edit, lessonForm(t, "Mathe 7b"), nil); p.status != 403 {
		t.Errorf("student posts the edit form: %d, want 403", p.status)
	}

	// Edit: the version travels in a hidden field.
	p = pageDo(t, teacher, "GET", edit, nil, nil)
	m := versionField.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || m[1] != fmt.Sprint(rm.Version) {
		t.Fatalf("edit page %d, version field %v, want %d", p.status, m, rm.Version)
	}
	for _, link := range []string{"/rooms/" + rm.ID + "/invites", "/rooms/" + rm.ID + ".ics", "/rooms/" + rm.ID + "/delete", `data-copy="join-link"`} {
		if !strings.Contains(p.body, link) {
			t.Errorf("edit page lacks %s", link)
		}
	}
	changed := lessonForm(t, "Mathe 7b")
	changed.Set("title", "Mathematik 7b")
	changed.Set("version", m[1])
	changed["organizers"] = []string{"teacher2"}
	if p := pageDo(t, teacher, "POST", edit, changed, nil); p.status != 303 {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	// The same form again: its version is gone, nothing is overwritten.
	changed.Set("title", "Stale title")
	p = pageDo(t, teacher, "POST", edit, changed, nil)
	if p.status != 409 || !strings.Contains(p.body, `id="form-problem"`) || !strings.Contains(p.body, `value="Stale title"`) {
		t.Errorf("stale save: %d\n%s", p.status, p.body)
	}
	rm, _ = h.rooms.Get(ctx, rm.ID)
	if rm.Title != "Mathematik 7b" {
		t.Errorf("title %q after the stale save", rm.Title)
	}
	if got := strings.Join(rm.Organizers, ","); got != "teacher2,demo:teacher" {
		t.Errorf("organizers %q: the writer must stay", got)
	}
	// Now a co-organizer, teacher2 may edit it.
	if p := pageDo(t, teacher2, "GET", edit, nil, nil); p.status != 200 {
		t.Errorf("co-organizer opens the edit page: %d", p.status)
	}

	// Cross-site form posts never reach the handler.
	evil := lessonForm(t, "evil")
	if p := pageDo(t, teacher, "POST", h.base+"/rooms/new", evil, map[string]string{"Sec-Fetch-Site": "cross-site"}); p.status != 403 {
		t.Errorf("cross-site create: %d", p.status)
	}
	if p := pageDo(t, teacher, "POST", h.base+"/rooms/"+rm.ID+"/delete", url.Values{"version": {fmt.Sprint(rm.Version)}},
		map[string]string{"Origin": "https://evil.example"}); p.status != 403 {
		t.Errorf("cross-origin delete: %d", p.status)
	}

	// Delete asks once; a stale confirmation deletes nothing.
	del := h.base + "/rooms/" + rm.ID + "/delete"
	p = pageDo(t, teacher, "GET", del, nil, nil)
	if p.status != 200 || !strings.Contains(p.body, `id="delete-form"`) || !strings.Contains(p.body, "Mathematik 7b") {
		t.Fatalf("delete page %d", p.status)
	}
	if p := pageDo(t, teacher, "POST", del, url.Values{"version": {"1"}}, nil); p.status != 409 {
		t.Errorf("stale delete: %d", p.status)
	}
	if _, err := h.rooms.Get(ctx, rm.ID); err != nil {
		t.Fatalf("the stale delete deleted: %v", err)
	}
	p = pageDo(t, teacher, "POST", del, url.Values{"version": {fmt.Sprint(rm.Version)}}, nil)
	if p.status != 303 || p.location != "/_auth/rooms?done=deleted" {
		t.Fatalf("delete: %d %q", p.status, p.location)
	}
	if _, err := h.rooms.Get(ctx, rm.ID); err == nil {
		t.Error("the room is still there")
	}
	if !strings.Contains(h.log.String(), "pages: room deleted") {
		t.Error("no audit line for the delete")
	}
}

// importPost sends a CSV to the import page (the preview), or with apply
// the confirmation's fields.
func importPost(t *testing.T, c *http.Client, base string, fields map[string]string, file string) page {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("file", "timetable.csv")
		_, _ = fw.Write([]byte(file))
	}
	mw.Close()
	r, _ := http.NewRequest("POST", base+"/rooms/import", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

var hiddenCSV = regexp.MustCompile(`name="csv" value="([^"]*)"`)

func TestTimetableImportPreviewThenApply(t *testing.T) {
	h := newAPIHarness(t)
	admin := h.login(t, "admin")
	ctx := context.Background()
	var good strings.Builder
	good.WriteString("name,title,organizers,participants,day,start,end\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&good, "lesson-%02d,Lesson %d,teacher,group:7b,mon,08:00,08:45\n", i, i)
	}
	bad := strings.Replace(good.String(), "lesson-01,Lesson 1,teacher,group:7b,mon,08:00,08:45", "lesson-01,Lesson 1,teacher,group:7b,mon,09:00,08:45", 1)

	p := importPost(t, admin, h.base, nil, bad)
	if p.status != 400 || !strings.Contains(p.body, "Line 2") || !strings.Contains(p.body, "Nothing was written") {
		t.Fatalf("bad file: %d\n%s", p.status, p.body)
	}
	if list, _ := h.rooms.List(ctx, rooms.Filter{}); len(list) != 0 {
		t.Fatalf("the bad file wrote %d rooms", len(list))
	}

	p = importPost(t, admin, h.base, nil, good.String())
	if p.status != 200 || !strings.Contains(p.body, "30 new, 0 changed, 0 unchanged") || !strings.Contains(p.body, `id="import-confirm"`) {
		t.Fatalf("preview: %d\n%s", p.status, p.body)
	}
	if list, _ := h.rooms.List(ctx, rooms.Filter{}); len(list) != 0 {
		t.Fatalf("the preview wrote %d rooms", len(list))
	}
	m := hiddenCSV.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("the preview does not carry the file to the confirmation")
	}
	csvText := strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#10;", "\n").Replace(m[1])
	if csvText != good.String() {
		t.Fatalf("the file carried to the confirmation differs:\n%q\n%q", csvText, good.String())
	}
	p = importPost(t, admin, h.base, map[string]string{"apply": "1", "csv": csvText, "file_name": "timetable.csv"}, "")
	if p.status != 200 || !strings.Contains(p.body, "Imported") || !strings.Contains(p.body, "30 new") {
		t.Fatalf("apply: %d\n%s", p.status, p.body)
	}
	if list, _ := h.rooms.List(ctx, rooms.Filter{}); len(list) != 30 {
		t.Fatalf("%d rooms after the import, want 30", len(list))
	}

	// All rooms with a search, and the export.
	list := pageDo(t, admin, "GET", h.base+"/rooms?q=lesson-2", nil, nil)
	if n := strings.Count(list.body, `class="card room-item"`); list.status != 200 || n != 10 {
		t.Errorf("search lesson-2: %d, %d rooms, want 10 (lesson-20…-29)", list.status, n)
	}
	exp := pageDo(t, admin, "GET", h.base+"/rooms/export", nil, nil)
	if exp.status != 200 || !strings.HasPrefix(exp.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(exp.header.Get("Content-Disposition"), "attachment") || exp.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v", exp.status, exp.header)
	}
	if !strings.HasPrefix(exp.body, "name,tenant,title") || strings.Count(exp.body, "lesson-") != 30 {
		t.Errorf("export:\n%s", exp.body)
	}
	// The export imported again changes nothing.
	p = importPost(t, admin, h.base, nil, exp.body)
	if !strings.Contains(p.body, "0 new, 0 changed, 30 unchanged") {
		t.Errorf("re-importing the export: %d\n%s", p.status, p.body)
	}
	excel := pageDo(t, admin, "GET", h.base+"/rooms/export?excel=1", nil, nil)
	if !strings.HasPrefix(excel.body, "\ufeffname;tenant;title") {
		t.Errorf("Excel export starts %q", excel.body[:min(30, len(excel.body))])
	}
}
