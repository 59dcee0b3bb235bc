package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	ics "github.com/arran4/golang-ical"
)

// The calendar feeds through the real program: rooms made with `rooms
// create`, users signing in, each fetching their own feed without a cookie.

var feedURLInput = regexp.MustCompile(`id="feed-url"[^>]*value="([^"]+)"`)

// feedAddress signs user in and reads the address off the calendar page.
func feedAddress(t *testing.T, g *testGateway, user string) (*http.Client, string) {
	t.Helper()
	c := browser(t)
	if r := login(t, g, c, "", user, "pw"); r.status >= 400 {
		t.Fatalf("login %s: %d\n%s", user, r.status, r.body)
	}
	r := do(t, c, http.MethodGet, g.base+"/calendar", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /calendar as %s: %d\n%s", user, r.status, r.body)
	}
	m := feedURLInput.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("the calendar page of %s shows no address:\n%s", user, r.body)
	}
	addr := html.UnescapeString(m[1])
	if !strings.HasPrefix(addr, g.base+"/calendar/") || !strings.HasSuffix(addr, ".ics") {
		t.Fatalf("address %q is not %s/calendar/<token>.ics", addr, g.base)
	}
	return c, addr
}

// fetchFeed gets a feed the way a calendar client does: no cookie.
func fetchFeed(t *testing.T, addr string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// feedRooms parses a feed with the iCalendar library and returns the room
// ids of its events (the UID starts with the room id) and the events.
func feedRooms(t *testing.T, body string) ([]string, []*ics.VEvent) {
	t.Helper()
	cal, err := ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the iCalendar library cannot parse the feed: %v\n%s", err, body)
	}
	var ids []string
	for _, e := range cal.Events() {
		id, _, _ := strings.Cut(e.Id(), ".")
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, cal.Events()
}

func createRoomID(t *testing.T, path string, args ...string) string {
	t.Helper()
	out := roomsCreate(t, path, append([]string{"-json"}, args...)...)
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" {
		t.Fatalf("rooms create -json printed no id (%v):\n%s", err, out)
	}
	return r.ID
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestCalendarFeedThroughTheGateway(t *testing.T) {
	addr := freePort(t)
	cfg := roomsStaticConfig(t, addr, sqliteStore(t))
	path := writeConfig(t, cfg)
	mathe := createRoomID(t, path, "-name", "Mathe 7b", "-organizers", "teacher1", "-participants", "group:7b",
		"-weekly", "mon 08:00-08:45,thu 08:00-08:45", "-timezone", "Europe/Berlin", "-from", "2026-09-07", "-until", "2027-07-16")
	physik := createRoomID(t, path, "-name", "Physik 9a", "-organizers", "teacher2", "-participants", "group:9a",
		"-weekly", "tue 10:00-10:45", "-timezone", "Europe/Berlin")
	evening := createRoomID(t, path, "-name", "Elternabend", "-organizers", "teacher1",
		"-start", "2026-09-24T18:00:00+02:00", "-end", "2026-09-24T19:30:00+02:00")
	g := startGateway(t, cfg, nil)

	if r := do(t, browser(t), http.MethodGet, g.base+"/calendar", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Errorf("GET /calendar without a login: %d %s, want 303 to the login page", r.status, r.location)
	}

	student, studentFeed := feedAddress(t, g, "student1")
	_, teacherFeed := feedAddress(t, g, "teacher1")
	_, teacher2Feed := feedAddress(t, g, "teacher2")
	_, parentFeed := feedAddress(t, g, "parent")
	if _, again := feedAddress(t, g, "student1"); again != studentFeed {
		t.Errorf("a second visit shows %s, want the same address %s", again, studentFeed)
	}

	resp, body := fetchFeed(t, studentFeed)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("student feed: %d\n%s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") || !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q: want a private lifetime (the URL is a credential)", cc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Errorf("the feed sets cookies: %v", sc)
	}
	ids, events := feedRooms(t, body)
	if !slices.Equal(ids, []string{mathe}) {
		t.Errorf("student1's feed lists rooms %v, want only Mathe 7b (%s)", ids, mathe)
	}
	for _, e := range events {
		start, rrule := e.GetProperty(ics.ComponentPropertyDtStart), e.GetProperty(ics.ComponentPropertyRrule)
		if start == nil || start.Value != "20260907T080000" || !slices.Equal(start.ICalParameters["TZID"], []string{"Europe/Berlin"}) ||
			rrule == nil || !strings.Contains(rrule.Value, "BYDAY=MO,TH") || !strings.Contains(rrule.Value, "UNTIL=20270716T215959Z") {
			t.Errorf("the lesson is not a weekly Monday/Thursday series at 08:00 Berlin time: DTSTART %+v RRULE %+v", start, rrule)
		}
		if u := e.GetProperty(ics.ComponentPropertyUrl); u == nil || u.Value != g.base+"/join/mathe7b" {
			t.Errorf("the lesson's URL %+v, want the join link", u)
		}
	}
	if etag := resp.Header.Get("ETag"); etag == "" {
		t.Error("the feed has no ETag")
	} else if r, _ := fetchFeed(t, studentFeed, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", r.StatusCode)
	}

	for _, tt := range []struct {
		user, feed string
		want       []string
	}{
		{"teacher1", teacherFeed, sorted(mathe, evening)},
		{"teacher2", teacher2Feed, []string{physik}},
		{"parent", parentFeed, nil},
	} {
		resp, body := fetchFeed(t, tt.feed)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s's feed: %d", tt.user, resp.StatusCode)
			continue
		}
		if ids, _ := feedRooms(t, body); !slices.Equal(ids, tt.want) {
			t.Errorf("%s's feed lists rooms %v, want %v", tt.user, ids, tt.want)
		}
	}

	// The room's .ics file: for those who see the room, 404 for others.
	for _, tt := range []struct {
		name   string
		c      *http.Client
		room   string
		status int
	}{
		{"participant", student, mathe, http.StatusOK},
		{"not listed", student, physik, http.StatusNotFound},
		{"no such room", student, "no-such-room", http.StatusNotFound},
		{"no login", browser(t), mathe, http.StatusSeeOther},
	} {
		r := do(t, tt.c, http.MethodGet, g.base+"/rooms/"+tt.room+".ics", nil)
		if r.status != tt.status {
			t.Errorf("%s: GET /rooms/%s.ics: %d, want %d", tt.name, tt.room, r.status, tt.status)
			continue
		}
		if r.status != http.StatusOK {
			continue
		}
		if ids, _ := feedRooms(t, r.body); !slices.Equal(ids, []string{tt.room}) {
			t.Errorf("%s: the room file lists %v", tt.name, ids)
		}
		if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=mathe7b.ics` {
			t.Errorf("Content-Disposition %q", cd)
		}
	}

	// Another site cannot make the student a new address.
	req, _ := http.NewRequest(http.MethodPost, g.base+"/calendar/new", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := student.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /calendar/new: %d, want 403", resp.StatusCode)
	}
	if r, _ := fetchFeed(t, studentFeed); r.StatusCode != http.StatusOK {
		t.Errorf("after a refused cross-site post the address answers %d", r.StatusCode)
	}

	// A new address: the old one is 404 at once.
	r := do(t, student, http.MethodPost, g.base+"/calendar/new", nil)
	if r.status != http.StatusSeeOther || r.location != "/calendar?renewed=1" {
		t.Fatalf("POST /calendar/new: %d %s", r.status, r.location)
	}
	_, renewed := feedAddress(t, g, "student1")
	if renewed == studentFeed {
		t.Fatal("the address did not change")
	}
	if r, _ := fetchFeed(t, studentFeed); r.StatusCode != http.StatusNotFound {
		t.Errorf("the revoked address: %d, want 404", r.StatusCode)
	}
	if r, body := fetchFeed(t, renewed); r.StatusCode != http.StatusOK {
		t.Errorf("the new address: %d", r.StatusCode)
	} else if ids, _ := feedRooms(t, body); !slices.Equal(ids, []string{mathe}) {
		t.Errorf("the new address lists %v", ids)
	}
	if r, _ := fetchFeed(t, g.base+"/calendar/"+strings.Repeat("A", 43)+".ics"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a made-up address: %d, want 404", r.StatusCode)
	}

	token := strings.TrimSuffix(strings.TrimPrefix(renewed, g.base+"/calendar/"), ".ics")
	if logs := g.log.String(); strings.Contains(logs, token) {
		t.Errorf("the log contains a feed token:\n%s", logs)
	}
}
