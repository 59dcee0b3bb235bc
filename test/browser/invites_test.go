package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOrganizerInvitesAGuest: a teacher signs in, registers a room through
// the API from the page's session, creates an invitation link on the
// room's invite page; a second browser (no cookies, German) follows the
// link, types a name and lands on the Jitsi stand-in with a member token
// for exactly that room, with the typed name and the lobby.
func TestOrganizerInvitesAGuest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gatewayOptions{manageRooms: true}, false, "")
	b := e.b

	b.open(e.gw.URL+"/login", "#form-ldap")
	b.passwordLogin("ldap", "teacher1", "teacher1pass", "#room-form")
	b.eval(`(() => {
		fetch("/api/v1/rooms", {method: "POST", headers: {"Content-Type": "application/json"},
			body: JSON.stringify({name: "Elternabend 7b", title: "Elternabend 7b"})})
			.then(r => r.json()).then(j => { window.roomID = j.id || ("error: " + JSON.stringify(j)); })
			.catch(err => { window.roomID = "error: " + err; });
		return "sent";
	})()`)
	b.waitFor("the room to be created", `typeof window.roomID === "string"`)
	id := b.eval(`window.roomID`)
	if id == "" || strings.HasPrefix(id, "error") {
		t.Fatalf("creating the room through the API: %s", id)
	}

	b.open(e.gw.URL+"/rooms/"+id+"/invites", "#create-invite")
	if !strings.Contains(b.pageText(), "Invite guests") || !b.exists("#no-invites") {
		t.Fatalf("not the empty invite page:\n%s", b.pageText())
	}
	b.checkAccessibility("invites (organizer)")
	b.do("create a link for two people",
		chromedp.SetValue(chromedp.ID("max_uses"), "2"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("invite-link")))
	link := b.eval(`document.getElementById("invite-link").value`)
	if !strings.HasPrefix(link, e.gw.URL+"/invite/") || len(link) != len(e.gw.URL+"/invite/")+26 {
		t.Fatalf("the page shows the link %q", link)
	}
	b.screenshot("en-invites.png")
	b.checkAccessibility("invites (organizer, link shown)")
	if text := b.pageText(); !strings.Contains(text, "0 of 2") || !strings.Contains(text, "typed by the guest") {
		t.Errorf("the new invite is not listed:\n%s", text)
	}

	guest := newBrowser(t, "de-DE,de")
	guest.open(link, "#invite-form")
	if text := guest.pageText(); !strings.Contains(text, "Sie sind eingeladen") || !strings.Contains(text, "Elternabend 7b") ||
		!strings.Contains(text, "Warteraum") {
		t.Errorf("the guest page does not invite in German to the room:\n%s", text)
	}
	if len(guest.cookies(e.gw.URL)) != 0 {
		t.Errorf("the guest browser has cookies of the gateway: %v", guest.cookies(e.gw.URL))
	}
	guest.screenshot("de-invite.png")
	guest.checkAccessibility("invite (guest)")
	guest.phoneCheck("de", "invite")
	e.jitsi.noVisits(t)
	guest.do("type the name and join",
		chromedp.SendKeys(chromedp.ID("name"), "Erika <b>Mustermann</b>"),
		chromedp.Click(chromedp.ID("join")),
		chromedp.WaitVisible(chromedp.ID("joined")))

	v := e.jitsi.accepted(t, e.jitsi.onlyVisit(t))
	if v.RoomSafe != "elternabend7b" || v.Tenant != "" {
		t.Errorf("the guest was sent to tenant %q room %q, want elternabend7b", v.Tenant, v.RoomSafe)
	}
	tok := v.Token
	if tok.Owner() || tok.Room != "elternabend7b" || tok.Subject != xmppDomain {
		t.Errorf("guest token: owner=%v room=%q sub=%q", tok.Owner(), tok.Room, tok.Subject)
	}
	wantUser(t, tok, map[string]any{"affiliation": "member", "moderator": false, "lobby": true, "name": "Erika bMustermann/b"})
	if _, ok := tok.User["lobby_bypass"]; ok {
		t.Errorf("guest token has lobby_bypass: %v", tok.User)
	}
	if id, _ := tok.User["id"].(string); !strings.HasPrefix(id, "guest:") {
		t.Errorf("context.user.id = %q, want guest:…", id)
	}
	if got := guest.text("#joined"); got != "joined elternabend7b as member" {
		t.Errorf("stand-in page says %q", got)
	}

	// The organizer's list counts the use.
	b.open(e.gw.URL+"/rooms/"+id+"/invites", "#create-invite")
	if text := b.pageText(); !strings.Contains(text, "1 of 2") || strings.Contains(text, link) {
		t.Errorf("after the guest joined the list says:\n%s", text)
	}
	requireAxe(t)
}
