package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The room pages in a real browser against the real binary and slapd: a
// teacher plans a weekly lesson for a group in the form, the group's
// student finds it under "today" and joins as a member, a colleague joins
// as a member, the organizer as owner, a student outside the group
// neither sees it nor gets in; an admin imports a timetable (a bad file
// first: nothing written, the line named). Every new page is
// screenshotted, linted with axe-core and looked at on a phone.
//
// The group is the seed's cycle-a (student2, not student1): the seed's
// group memberships are counted by the LDAP tests, so no class group is
// added for this test.

// lessonGroup is the group the lesson is planned for.
const lessonGroup = "cycle-a"

// berlinToday is today's weekday as the form's day select has it, in the
// rooms' timezone (Europe/Berlin, roomRules' config). Near midnight it
// waits for the new day, so that the lesson planned "all of today" is
// still today when the students look.
func berlinToday(t *testing.T) string {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	if now.Hour() == 23 && now.Minute() >= 58 {
		time.Sleep(time.Until(time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 5, 0, loc)))
		now = time.Now().In(loc)
	}
	return strings.ToLower(now.Weekday().String()[:3])
}

// setField sets a form field's value the way a user's typing ends up
// (SendKeys into text fields with a placeholder is reliable, but time
// and select values are simpler to set directly).
func (b *browser) setField(id, value string) {
	b.t.Helper()
	b.do("set #"+id, chromedp.SetValue(chromedp.ID(id), value))
}

// roomPageCheck is the look at a new page: its language, a screenshot,
// axe-core, and the phone width.
func (b *browser) roomPageCheck(lang, page string) bool {
	b.t.Helper()
	if got := b.eval(`document.documentElement.lang`); got != lang {
		b.t.Errorf("%s page: <html lang=%q>, want %q", page, got, lang)
	}
	b.screenshot(lang + "-" + page + ".png")
	ran := b.checkAccessibility(page)
	b.phoneCheck(lang, page)
	return ran
}

func TestRoomsTeacherPlansALessonStudentsJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{rooms: true}, false, "en-US,en")
	b := e.b
	day := berlinToday(t)
	axeRan := false

	// The teacher signs in from the front door and lands on their day.
	b.open(e.gw.URL+"/", "#sign-in")
	b.screenshot("en-welcome-signed-out.png")
	b.do("choose the school account", chromedp.Click(chromedp.ID("choose-ldap")))
	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#today")
	if got := b.text("main h1"); got != "Today" {
		t.Errorf("dashboard heading %q", got)
	}
	axeRan = b.roomPageCheck("en", "dashboard") || axeRan

	b.do("open my rooms", chromedp.Click(chromedp.ID("my-rooms")), chromedp.WaitVisible(chromedp.ID("new-room")))
	axeRan = b.roomPageCheck("en", "rooms-empty") || axeRan
	b.do("open the new room form", chromedp.Click(chromedp.ID("new-room")), chromedp.WaitVisible(chromedp.ID("room-edit")))
	if !strings.Contains(b.eval(`Array.from(document.querySelectorAll("#group-suggestions option")).map(o => o.value).join(" ")`), "group:teachers") {
		t.Error("the form does not suggest the teacher's own groups")
	}
	axeRan = b.roomPageCheck("en", "room-new") || axeRan

	// A first try without a name: every problem shown, nothing written.
	b.setField("weekly-start-0", "10:00")
	b.setField("weekly-end-0", "09:00")
	b.do("save without a name", chromedp.Click(chromedp.ID("save-room")), chromedp.WaitVisible(chromedp.ID("form-errors")))
	for _, id := range []string{"name-error", "weekly-error"} {
		if !b.exists("#" + id) {
			t.Errorf("no error next to the field (%s)", id)
		}
	}
	axeRan = b.roomPageCheck("en", "room-form-errors") || axeRan

	// Now the lesson: all of today, every week, for the group.
	b.do("fill in the lesson",
		chromedp.SendKeys(chromedp.ID("name"), "Mathe 7b"),
		chromedp.SendKeys(chromedp.ID("title"), "Mathematik 7b"),
		chromedp.SendKeys(chromedp.ID("participant-0"), "group:"+lessonGroup))
	b.setField("weekly-day-0", day)
	b.setField("weekly-start-0", "00:00")
	b.setField("weekly-end-0", "24:00")
	b.do("generate a password", chromedp.Click(chromedp.ID("generate-password")))
	if pw := b.eval(`document.getElementById("password").value`); len(pw) != 12 {
		t.Errorf("generated password %q, want 12 characters", pw)
	}
	b.do("save the lesson", chromedp.Click(chromedp.ID("save-room")), chromedp.WaitVisible(chromedp.ID("notice")))
	if !strings.Contains(b.location(), "/edit?done=created") {
		t.Fatalf("after saving the browser is at %s", b.location())
	}
	if link := b.eval(`document.getElementById("join-link").value`); link != e.gw.URL+"/join/mathe7b" {
		t.Errorf("join link %q", link)
	}
	if !b.exists("#invites-link") || b.eval(`String(document.querySelector("button[data-copy]").hidden)`) != "false" {
		t.Error("the room page lacks the invite link or the copy button")
	}
	axeRan = b.roomPageCheck("en", "room-edit") || axeRan

	b.open(e.gw.URL+"/rooms", "#rooms")
	if got := b.text("#rooms"); !strings.Contains(got, "Mathematik 7b") || !strings.Contains(got, "open now") {
		t.Errorf("my rooms shows:\n%s", got)
	}
	axeRan = b.roomPageCheck("en", "rooms") || axeRan
	b.do("open the delete page", chromedp.Click(chromedp.CSS(`#rooms a[href$="/delete"]`)), chromedp.WaitVisible(chromedp.ID("delete-form")))
	axeRan = b.roomPageCheck("en", "room-delete") || axeRan

	// The student of the group: under today, one click, a member.
	student := newBrowser(t, "en-US,en")
	student.open(e.gw.URL+"/login", "#form-ldap")
	student.passwordLogin("ldap", "student2", "student2pass", "#today")
	if got := student.text("#today"); !strings.Contains(got, "Mathematik 7b") || !strings.Contains(got, "open now") {
		t.Fatalf("student2's today:\n%s", got)
	}
	student.do("join from the dashboard", chromedp.Click(chromedp.CSS("#today a.join")), chromedp.WaitVisible(chromedp.ID("joined")))
	v := e.jitsi.lastVisit(t, 1)
	if v.RoomSafe != "mathe7b" || v.Token.Owner() {
		t.Errorf("student2 joined %s as owner=%v, want mathe7b as a member", v.RoomSafe, v.Token.Owner())
	}
	wantUser(t, v.Token, map[string]any{"affiliation": "member"})

	// A colleague with the link: a member.
	colleague := newBrowser(t, "en-US,en")
	colleague.open(e.gw.URL+"/join/mathe7b", "#form-ldap")
	colleague.passwordLogin("ldap", "teacher2", "teacher2pass", "#joined")
	v = e.jitsi.lastVisit(t, 2)
	wantUser(t, v.Token, map[string]any{"affiliation": "member"})

	// The organizer from the dashboard: the owner.
	b.open(e.gw.URL+"/", "#today")
	b.do("join as the organizer", chromedp.Click(chromedp.CSS("#today a.join")), chromedp.WaitVisible(chromedp.ID("joined")))
	v = e.jitsi.lastVisit(t, 3)
	if v.RoomSafe != "mathe7b" || !v.Token.Owner() {
		t.Errorf("the organizer joined %s, owner=%v", v.RoomSafe, v.Token.Owner())
	}

	// A student outside the group: nothing under today, refused at the door.
	other := newBrowser(t, "en-US,en")
	other.open(e.gw.URL+"/login", "#form-ldap")
	other.passwordLogin("ldap", "student1", "student1pass", "#today")
	if got := other.text("#today"); strings.Contains(got, "Mathematik 7b") {
		t.Errorf("student1 (not in %s) sees the lesson:\n%s", lessonGroup, got)
	}
	other.open(e.gw.URL+"/join/mathe7b", "main div.card[role=alert]")
	if got := other.text("main h1"); got != "No access to this room" {
		t.Errorf("student1 at the lesson's door: %q", got)
	}
	if n := len(e.jitsi.Visits()); n != 3 {
		t.Errorf("%d visits at Jitsi, want 3 (student1 must not get there)", n)
	}
	if !axeRan {
		requireAxe(t)
	}
}

func TestRoomsAdminImportsTheTimetable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{rooms: true}, false, "en-US,en")
	b := e.b
	axeRan := false
	dir := t.TempDir()
	var good strings.Builder
	good.WriteString("name,title,organizers,participants,day,start,end,valid_from,valid_until\n")
	days := []string{"mon", "tue", "wed", "thu", "fri"}
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&good, "lesson-%02d,Lesson %d,teacher1,group:students,%s,%02d:00,%02d:45,2026-09-01,2027-07-31\n", i, i, days[i%5], 8+i%6, 8+i%6)
	}
	// The bad file: its first lesson ends before it starts.
	bad := strings.Replace(good.String(), ",tue,09:00,09:45,", ",tue,09:45,09:00,", 1)
	if bad == good.String() {
		t.Fatal("the bad line was not made")
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badFile, goodFile := write("bad.csv", bad), write("timetable.csv", good.String())

	b.open(e.gw.URL+"/login", "#form-ldap")
	b.passwordLogin("ldap", "admin", "adminpass", "#my-rooms")
	b.do("open all rooms", chromedp.Click(chromedp.ID("my-rooms")), chromedp.WaitVisible(chromedp.ID("import-link")))
	if got := b.text("main h1"); got != "All rooms" {
		t.Errorf("admin's rooms page heading %q", got)
	}
	b.do("open the import", chromedp.Click(chromedp.ID("import-link")), chromedp.WaitVisible(chromedp.ID("import-form")))
	axeRan = b.roomPageCheck("en", "import") || axeRan

	b.do("check the bad file", chromedp.SetUploadFiles(chromedp.ID("file"), []string{badFile}),
		chromedp.Click(chromedp.ID("import-check")), chromedp.WaitVisible(chromedp.ID("import-errors")))
	if got := b.text("#import-errors"); !strings.Contains(got, "Line 2") || !strings.Contains(got, "Nothing was written") {
		t.Errorf("the bad file's report:\n%s", got)
	}
	axeRan = b.roomPageCheck("en", "import-errors") || axeRan
	b.open(e.gw.URL+"/rooms", "#no-rooms")

	b.open(e.gw.URL+"/rooms/import", "#import-form")
	b.do("check the good file", chromedp.SetUploadFiles(chromedp.ID("file"), []string{goodFile}),
		chromedp.Click(chromedp.ID("import-check")), chromedp.WaitVisible(chromedp.ID("import-confirm")))
	if got := b.text("#import-counts"); got != "30 new, 0 changed, 0 unchanged." {
		t.Errorf("preview counts %q", got)
	}
	axeRan = b.roomPageCheck("en", "import-preview") || axeRan
	b.do("confirm the import", chromedp.Click(chromedp.ID("import-confirm")))
	b.waitFor("the import's result", `document.readyState === "complete" && !document.getElementById("import-confirm") && document.getElementById("report-heading") !== null`)
	if got := b.text("#report-heading"); got != "Imported" {
		t.Errorf("after the confirmation: %q", got)
	}
	if got := b.text("#import-counts"); got != "30 new, 0 changed, 0 unchanged." {
		t.Errorf("import result counts %q", got)
	}
	b.open(e.gw.URL+"/rooms", "#rooms")
	if n := b.eval(`String(document.querySelectorAll("#rooms > li").length)`); n != "30" {
		t.Errorf("%s rooms listed after the import, want 30", n)
	}
	b.open(e.gw.URL+"/rooms?q=lesson-1", "#rooms")
	if n := b.eval(`String(document.querySelectorAll("#rooms > li").length)`); n != "10" {
		t.Errorf("search lesson-1: %s rooms, want 10", n)
	}
	axeRan = b.roomPageCheck("en", "rooms-admin") || axeRan
	if !axeRan {
		requireAxe(t)
	}
}

// TestRoomPagesInGerman shows every new page in German: the strings are
// written out here, so a missing translation fails.
func TestRoomPagesInGerman(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{rooms: true}, false, "de-DE,de;q=0.9")
	b := e.b
	axeRan := false
	heading := func(page, want string) {
		t.Helper()
		if got := b.text("main h1"); got != want {
			t.Errorf("%s page: heading %q, want %q", page, got, want)
		}
		axeRan = b.roomPageCheck("de", page) || axeRan
	}
	b.open(e.gw.URL+"/", "#sign-in")
	heading("welcome-signed-out", "An einer Besprechung teilnehmen")
	b.open(e.gw.URL+"/login", "#form-ldap")
	b.passwordLogin("ldap", "admin", "adminpass", "#today")
	heading("dashboard", "Heute")
	b.open(e.gw.URL+"/rooms", "#new-room")
	heading("rooms-admin", "Alle Räume")
	b.open(e.gw.URL+"/rooms/new", "#room-edit")
	heading("room-new", "Neuer Raum")
	b.do("save without a name", chromedp.Click(chromedp.ID("save-room")), chromedp.WaitVisible(chromedp.ID("form-errors")))
	if got := b.text("#form-errors"); !strings.HasPrefix(got, "Nichts wurde gespeichert.") {
		t.Errorf("German form error summary %q", got)
	}
	b.do("fill in a room", chromedp.SendKeys(chromedp.ID("name"), "Elternabend"))
	// A parents' evening in three weeks (the schedule looks a year
	// ahead at most).
	loc, _ := time.LoadLocation("Europe/Berlin")
	b.setField("window-date-0", time.Now().In(loc).AddDate(0, 0, 21).Format(time.DateOnly))
	b.setField("window-start-0", "19:00")
	b.setField("window-end-0", "20:30")
	b.do("save it", chromedp.Click(chromedp.ID("save-room")), chromedp.WaitVisible(chromedp.ID("notice")))
	heading("room-edit", "Raum bearbeiten")
	b.open(e.gw.URL+"/rooms", "#rooms")
	if got := b.text("#rooms"); !regexp.MustCompile(`nächster Termin: am (Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag), \d+\. [A-ZÄ][a-zä]+ (\d{4} )?um 19:00 bis 20:30`).MatchString(got) {
		t.Errorf("German next date:\n%s", got)
	}
	b.do("open the delete page", chromedp.Click(chromedp.CSS(`#rooms a[href$="/delete"]`)), chromedp.WaitVisible(chromedp.ID("delete-form")))
	heading("room-delete", "Diesen Raum löschen?")
	b.do("delete it", chromedp.Click(chromedp.ID("delete-confirm")), chromedp.WaitVisible(chromedp.ID("notice")))
	if got := b.text("#notice"); got != "Der Raum wurde gelöscht." {
		t.Errorf("after deleting: %q", got)
	}
	b.open(e.gw.URL+"/rooms/import", "#import-form")
	heading("import", "Stundenplan importieren")
	if !axeRan {
		requireAxe(t)
	}
}
