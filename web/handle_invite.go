package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/ratelimit"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Guest invitations (docs/invites.md): GET <public_url>/invite/<code> shows
// the page that asks for the guest's name, POST redeems the invite and
// sends the guest to Jitsi with a member token for the invite's room only.
//
//   - The code is read only from this path: it is not a login, and no other
//     route looks at it.
//   - GET never counts a use (messengers and mail scanners open links to
//     preview them); the POST does, atomically in the store.
//   - Every code that opens nothing (unknown, malformed, expired, used up,
//     revoked, of a deleted room) gets the same page and status.
//   - Each request counts against a per-client-network limit
//     (invites.rate_limit) before anything else is done.
//   - The POST is a form post: the crossOrigin middleware refuses it from
//     other sites (CSRF), like the login form.

// InviteOptions bound the guest pages (invites.rate_limit).
type InviteOptions struct {
	// PerIP requests to /invite/ per client network per Window; 0 means 30
	// a minute.
	PerIP  int
	Window time.Duration
}

// maxInviteForm bounds the guest's form body (one name).
const maxInviteForm = 4 << 10

// guestPages serves /invite/{code} and the organizers' /rooms/{id}/invites.
type guestPages struct {
	site    *site
	invites *invites.Service // nil: no registry, every route is 404
	rooms   *rooms.Service
	policy  *policy.Policy
	grants  *grant.Granter
	jitsi   *target.Jitsi
	signer  *token.Signer
	clients clients
	preview preview
	limit   *ratelimit.Limiter
	now     func() time.Time
}

func newGuestPages(s *site, o InviteOptions, deps Deps, jitsi *target.Jitsi, signer *token.Signer, cl clients, pv preview, now func() time.Time) *guestPages {
	if o.PerIP == 0 {
		o.PerIP = 30
	}
	if o.Window == 0 {
		o.Window = time.Minute
	}
	return &guestPages{site: s, invites: deps.Invites, rooms: deps.Rooms, policy: deps.Grants.Policy(), grants: deps.Grants,
		jitsi: jitsi, signer: signer, clients: cl, preview: pv, limit: ratelimit.New(o.PerIP, o.Window, 0), now: now}
}

// invitePage is the data of invite.html.
type invitePage struct {
	Title, Action string
	// FixedName is the invite's name; "" lets the guest type one.
	FixedName string
	Lobby     bool
	// Missing: the last POST had no usable name.
	Missing bool
	MaxName int
}

// allowed counts the request against the client's network; it answers 429
// itself when over the limit.
func (gp *guestPages) allowed(w http.ResponseWriter, r *http.Request) bool {
	ip := gp.clients.ip(r)
	ok, wait := gp.limit.Allow(clientNetwork(ip))
	if ok {
		return true
	}
	secs := int(wait.Seconds() + 0.999)
	gp.site.log.WarnContext(r.Context(), "invite rate limited", "client", ip, "retry_after_s", secs)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	gp.site.fail(w, r, http.StatusTooManyRequests, "", "invite.rate_limited", secs)
	return false
}

// open finds the invite of the path's code and answers itself (the one
// refusal page, or 503) when there is none to use.
func (gp *guestPages) open(w http.ResponseWriter, r *http.Request) (string, invites.Invite, *rooms.Room, bool) {
	code := r.PathValue("code")
	if gp.invites == nil {
		gp.refuse(w, r, errors.New("no invitations on this gateway"))
		return "", invites.Invite{}, nil, false
	}
	inv, rm, err := gp.invites.Open(r.Context(), code)
	if err != nil {
		gp.unusable(w, r, err)
		return "", invites.Invite{}, nil, false
	}
	return code, inv, rm, true
}

// unusable answers an error of Open or Use: the refusal page for a code
// that opens nothing, 503 when the store failed.
func (gp *guestPages) unusable(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, invites.ErrUnusable) {
		gp.refuse(w, r, err)
		return
	}
	gp.site.storeUnavailable(w, r, "", "invites unavailable", err)
}

// refuse is the one page for every code that opens nothing: the same
// status and text whatever the reason, which only the log names. A POST
// is sent to the GET of the same link (which refuses it in turn), so the
// page is the same to the byte, language links included.
func (gp *guestPages) refuse(w http.ResponseWriter, r *http.Request, why error) {
	gp.site.log.InfoContext(r.Context(), "invite refused", "client", gp.clients.ip(r), "reason", why)
	if gp.toGet(w, r) {
		return
	}
	tr := gp.site.translator(r)
	gp.site.render(w, r, http.StatusNotFound, "error", "invite.invalid_heading", nil, errorPage{
		Status: http.StatusNotFound, Heading: tr.T("invite.invalid_heading"), Message: tr.T("invite.invalid"),
	})
}

// toGet answers a POST with 303 to the GET of its link, so that pages
// after a POST are the GET's (whose language links stay on the link).
func (gp *guestPages) toGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	http.Redirect(w, r, gp.site.path("/invite/"+url.PathEscape(r.PathValue("code"))), http.StatusSeeOther)
	return true
}

// closed tells a guest when the room opens (403: no token now); a POST
// goes to the GET, which says it.
func (gp *guestPages) closed(w http.ResponseWriter, r *http.Request, rm *rooms.Room, a rooms.Availability, code string) {
	if gp.toGet(w, r) {
		return
	}
	renderClosed(gp.site, w, r, nil, rm, a, gp.site.path("/invite/"+code), false, gp.now())
}

func roomTitle(rm *rooms.Room) string {
	if rm.Title != "" {
		return rm.Title
	}
	return rm.Display
}

// page shows the invitation (GET /invite/{code}); it counts no use.
func (gp *guestPages) page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Robots-Tag", "noindex, nofollow")
		if !gp.allowed(w, r) {
			return
		}
		code, inv, rm, ok := gp.open(w, r)
		if !ok {
			return
		}
		// The same window the POST's grant checks (GrantGuest): guests
		// never come early.
		if a := rm.OpenFor(gp.now(), false); !a.Open {
			gp.closed(w, r, rm, a, code)
			return
		}
		gp.site.render(w, r, http.StatusOK, "invite", "invite.heading", nil, invitePage{
			Title: roomTitle(rm), Action: gp.site.path("/invite/" + code), FixedName: inv.GuestName, Lobby: inv.Lobby,
			Missing: r.URL.Query().Get("name") == "missing", MaxName: invites.MaxNameLength,
		})
	})
}

// redeem takes the guest's name, counts one use and sends the guest to
// Jitsi (POST /invite/{code}).
func (gp *guestPages) redeem() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		w.Header().Set("X-Robots-Tag", "noindex, nofollow")
		if !gp.allowed(w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxInviteForm)
		if err := r.ParseForm(); err != nil {
			gp.site.handleError(w, r, &target.Error{Key: "error.bad_request", Err: fmt.Errorf("parse invite form: %w", err)}, "")
			return
		}
		code, inv, rm, ok := gp.open(w, r)
		if !ok {
			return
		}
		name := inv.GuestName
		if name == "" {
			name = invites.CleanName(r.PostForm.Get("name"))
		}
		if name == "" {
			// Back to the form (a GET, so the page's language links stay
			// on it); nothing was counted.
			http.Redirect(w, r, gp.site.path("/invite/"+code)+"?name=missing", http.StatusSeeOther)
			return
		}
		now := gp.now()
		guest := grant.Guest{Name: name, ID: inv.ID + ":" + strings.ToLower(rand.Text()[:16]), Lobby: inv.Lobby, NotAfter: inv.ExpiresAt}
		g, err := gp.grants.GrantGuest(rm, guest, now)
		if err != nil {
			gp.site.handleError(w, r, fmt.Errorf("guest grant: %w", err), "")
			return
		}
		if g.Closed {
			gp.closed(w, r, rm, g.Availability, code)
			return
		}
		// Counted last, after everything that could refuse the guest: a
		// closed room or a bad name uses nothing up.
		used, err := gp.invites.Use(ctx, code)
		if err != nil {
			gp.unusable(w, r, err)
			return
		}
		jwt, err := gp.signer.Mint(g.Claims)
		if err != nil {
			gp.site.handleError(w, r, fmt.Errorf("mint guest token: %w", err), "")
			return
		}
		t := target.Target{Room: room.Name{Safe: rm.Name, Display: rm.Display}, Tenant: rm.Tenant}
		gp.site.log.InfoContext(ctx, "guest token issued", "invite", used.ID, "guest", g.Claims.Context.User.ID,
			"room", rm.Name, "tenant", rm.Tenant, "lobby", inv.Lobby, "uses", used.Uses, "max_uses", used.MaxUses,
			"expires", g.Claims.ExpiresAt.UTC().Format(time.RFC3339), "client", gp.clients.ip(r))
		dest := gp.jitsi.RoomURL(t, jwt)
		if gp.preview.on {
			gp.site.render(w, r, http.StatusOK, "preview", "preview.heading", nil, previewOf(gp.site, dest, jwt, g, gp.preview))
			return
		}
		w.Header().Set("Location", dest)
		w.WriteHeader(http.StatusFound)
	})
}
