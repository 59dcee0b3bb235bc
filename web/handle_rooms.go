package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/i18n"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// The room pages for organizers and admins: my rooms (all rooms with a
// search for admins), the new/edit room form, the delete confirmation, and
// (admins) the timetable import and export. They are plain HTML forms
// posting to these page routes, not to the JSON API, and call the room
// service directly with the rights of rights.go, exactly as the API does:
//
//   - manage_rooms: create rooms (the writer is kept among the
//     organizers), change and delete the rooms one organizes;
//   - admin: every room, the import and the export.
//
// Form posts are protected against cross-site requests by the crossOrigin
// middleware (routes.go); every form is same-origin. A form carries the
// room's version in a hidden field: a change saved by someone else since
// the form was opened is reported, never overwritten silently. A form
// with any problem writes nothing and shows every problem next to its
// field.

// maxRoomForm bounds a room form post (a room with the service's maximum
// number of entries stays well below it).
const maxRoomForm = 1 << 20

// Blank rows the form offers beyond the ones a room already has.
const (
	blankEntryRows  = 3
	blankSlotRows   = 2
	blankWindowRows = 1
)

// roomPages serves the room pages.
type roomPages struct {
	site    *site
	rooms   *rooms.Service // nil: no registry, the pages are 404
	policy  *policy.Policy
	jitsi   *target.Jitsi
	tenants []string
	now     func() time.Time
	log     *slog.Logger
}

func newRoomPages(s *site, deps Deps, jitsi *target.Jitsi, now func() time.Time) *roomPages {
	return &roomPages{site: s, rooms: deps.Rooms, policy: deps.Grants.Policy(), jitsi: jitsi,
		tenants: jitsi.Tenants, now: now, log: deps.Logger}
}

// pageUser is the signed-in user of a room page and their rights.
type pageUser struct {
	user session.User
	c    caller
}

// handle wraps a room page: the registry must exist, the user must be
// signed in (otherwise: to the login page) and allowed (need).
func (p *roomPages) handle(need func(caller) bool, fn func(w http.ResponseWriter, r *http.Request, u pageUser)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := p.site
		if p.rooms == nil {
			s.fail(w, r, http.StatusNotFound, "", "error.not_found")
			return
		}
		u, ok := s.requireSignIn(w, r, target.Target{}, nil)
		if !ok {
			return
		}
		pu := pageUser{user: u, c: sessionCaller(p.policy, u.Identity, "page")}
		if !need(pu.c) {
			s.render(w, r, http.StatusForbidden, "error", "error.heading.403", &u, errorPage{
				Status: http.StatusForbidden, Heading: s.translator(r).T("error.heading.403"),
				Message: s.translator(r).T("rooms.no_rights"),
			})
			return
		}
		fn(w, r, pu)
	})
}

func mayManage(c caller) bool { return c.manage || c.admin }
func isAdmin(c caller) bool   { return c.admin }

// roomLinks are the links every room offers on the pages.
type roomLinks struct {
	Join, Edit, Delete, ICS, Invites string
}

func (p *roomPages) links(rm *rooms.Room) roomLinks {
	id := url.PathEscape(rm.ID)
	return roomLinks{
		Join:    p.rooms.JoinURL(rm),
		Edit:    p.site.path("/rooms/" + id + "/edit"),
		Delete:  p.site.path("/rooms/" + id + "/delete"),
		ICS:     p.site.path("/rooms/" + id + ".ics"),
		Invites: p.site.path("/rooms/" + id + "/invites"),
	}
}

// ---- my rooms / all rooms ----

// roomsPage is the data of rooms.html.
type roomsPage struct {
	Admin    bool
	Query    string
	Rooms    []roomItem
	New      string
	Import   string
	Export   string
	Calendar string
	Notice   string // a translated message after a change (deleted, saved)
}

type roomItem struct {
	ID, Title, Display, Tenant string
	Next                       string // translated: open now, next date, no more dates
	Open                       bool
	Links                      roomLinks
}

func (p *roomPages) list() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		tr := p.site.translator(r)
		q := strings.TrimSpace(truncate(r.URL.Query().Get("q"), 200))
		all, err := p.rooms.List(r.Context(), rooms.Filter{Query: q})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		now := p.now()
		data := roomsPage{Admin: u.c.admin, Query: q, New: p.site.path("/rooms/new"),
			Import: p.site.path("/rooms/import"), Export: p.site.path("/rooms/export"),
			Calendar: p.site.path("/calendar")}
		switch r.URL.Query().Get("done") {
		case "deleted":
			data.Notice = tr.T("rooms.notice.deleted")
		case "saved":
			data.Notice = tr.T("rooms.notice.saved")
		}
		for _, rm := range all {
			if !u.c.canEdit(rm) {
				continue
			}
			next, open := nextText(tr, rm, u.c.roleOf(rm) == rooms.RoleOrganizer, now)
			data.Rooms = append(data.Rooms, roomItem{ID: rm.ID, Title: rm.Title, Display: rm.Display, Tenant: rm.Tenant,
				Next: next, Open: open, Links: p.links(rm)})
		}
		p.site.render(w, r, http.StatusOK, "rooms", "rooms.heading", &u.user, data)
	})
}

// nextText says when the room is open next, for the list: "open now until
// 08:45", "next: Monday, 30 November at 08:00", "always open", "no more
// dates".
func nextText(tr i18n.Translator, rm *rooms.Room, organizer bool, now time.Time) (string, bool) {
	a := rm.OpenFor(now, organizer)
	switch {
	case a.Unrestricted:
		return tr.T("rooms.always_open"), true
	case a.Open:
		return tr.T("rooms.open_until", endClock(a.Current.End)), true
	case a.HasNext:
		return tr.T("rooms.next", tr.When(a.Next.Start, now), endClock(a.Next.End)), false
	}
	return tr.T("rooms.no_more"), false
}

// fail shows an error of the room service as a page.
func (p *roomPages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, rooms.ErrNotFound):
		p.site.fail(w, r, http.StatusNotFound, "", "rooms.not_found")
	default:
		p.site.storeUnavailable(w, r, "", "room pages: room registry failed", err, "method", r.Method, "path", r.URL.Path)
	}
}

// editable loads the room of the path for a change: the caller must see
// it (otherwise it is not found) and may change it.
func (p *roomPages) editable(w http.ResponseWriter, r *http.Request, u pageUser) (*rooms.Room, bool) {
	rm, ok := p.site.roomFor(w, r, p.rooms, u.c, r.PathValue("id"))
	if !ok {
		return nil, false
	}
	if !u.c.canEdit(rm) {
		p.site.fail(w, r, http.StatusForbidden, "", "rooms.no_edit")
		return nil, false
	}
	return rm, true
}

// ---- the room form ----

// roomForm is the data of room_form.html: what the form shows, as typed.
type roomForm struct {
	New           bool
	Action        string
	Cancel        string
	Version       int64
	Name, Title   string
	Tenant        string
	Tenants       []string
	Organizers    []string
	Participants  []string
	Self          string // the writer's own organizers entry (a hint)
	Lobby         bool
	Password      string
	MaxOccupants  string
	Weekly        []slotRow
	Windows       []windowRow
	Timezone      string
	ValidFrom     string
	ValidUntil    string
	OpenEarly     string
	Groups        []string // suggestions: group:NAME
	Days          []dayOption
	Errors        map[string][]string
	Problem       string // translated message above the form
	Notice        string // translated confirmation (created, saved)
	Links         *roomLinks
	DefaultTZ     string
	DefaultTenant string
}

type slotRow struct{ Day, Start, End string }

type windowRow struct{ Date, Start, End, EndDate string }

type dayOption struct{ Value, Label string }

// HasErrors is for the template: a summary above the form.
func (f roomForm) HasErrors() bool { return len(f.Errors) > 0 }

// dayValues are the weekday values of the form, Monday first, as
// schedule.ParseDay reads them.
var dayValues = []struct {
	value string
	day   time.Weekday
}{{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday}, {"thu", time.Thursday},
	{"fri", time.Friday}, {"sat", time.Saturday}, {"sun", time.Sunday}}

func (p *roomPages) days(tr i18n.Translator) []dayOption {
	out := make([]dayOption, len(dayValues))
	for i, d := range dayValues {
		out[i] = dayOption{Value: d.value, Label: tr.Weekday(d.day)}
	}
	return out
}

// suggestions are the groups the form proposes for organizers and
// participants: the groups the rules name and the user's own groups (as
// the directory reports them at sign-in), as group:NAME entries.
func (p *roomPages) suggestions(id auth.Identity) []string {
	seen := map[string]bool{}
	var out []string
	add := func(g string) {
		g = strings.TrimSpace(g)
		if g == "" || seen[strings.ToLower(g)] {
			return
		}
		seen[strings.ToLower(g)] = true
		out = append(out, "group:"+g)
	}
	for _, rule := range p.policy.Rules() {
		for _, g := range rule.Groups {
			add(g)
		}
	}
	for _, g := range id.Groups {
		add(g)
	}
	sort.Strings(out)
	return out
}

// withBlanks returns list followed by n empty rows.
func withBlanks[T any](list []T, n int) []T {
	return append(slices.Clone(list), make([]T, n)...)
}

// formOf fills the form from a room's spec.
func (p *roomPages) formOf(tr i18n.Translator, u pageUser, spec rooms.Spec, rm *rooms.Room) roomForm {
	f := roomForm{
		Name: spec.Name, Title: spec.Title, Tenant: spec.Tenant,
		Organizers: spec.Organizers, Participants: spec.Participants,
		Lobby: spec.Lobby, Password: spec.Password,
		Timezone: spec.Timezone, ValidFrom: spec.ValidFrom, ValidUntil: spec.ValidUntil, OpenEarly: spec.OpenEarly,
	}
	if spec.MaxOccupants > 0 {
		f.MaxOccupants = strconv.Itoa(spec.MaxOccupants)
	}
	for _, sl := range spec.Weekly {
		f.Weekly = append(f.Weekly, slotRow{Day: sl.Day, Start: sl.Start, End: sl.End})
	}
	if rm != nil {
		loc := rm.Schedule.Location
		for _, w := range rm.Windows {
			s, e := w.Start.In(loc), w.End.In(loc)
			row := windowRow{Date: s.Format(time.DateOnly), Start: s.Format("15:04"), End: e.Format("15:04")}
			if !sameDay(s, e) {
				row.EndDate = e.Format(time.DateOnly)
			}
			f.Windows = append(f.Windows, row)
		}
	}
	return p.decorate(tr, u, f)
}

// decorate adds what every rendering of the form needs: blank rows,
// choices, suggestions.
func (p *roomPages) decorate(tr i18n.Translator, u pageUser, f roomForm) roomForm {
	f.Organizers = withBlanks(f.Organizers, blankEntryRows)
	f.Participants = withBlanks(f.Participants, blankEntryRows)
	f.Weekly = withBlanks(f.Weekly, blankSlotRows)
	f.Windows = withBlanks(f.Windows, blankWindowRows)
	f.Tenants = p.tenants
	f.Groups = p.suggestions(u.user.Identity)
	f.Days = p.days(tr)
	f.DefaultTZ = p.rooms.Timezone()
	f.DefaultTenant = p.jitsi.DefaultTenant
	if !u.c.admin {
		f.Self = selfEntry(u.user.Identity)
	}
	return f
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd || b.Equal(time.Date(ay, am, ad+1, 0, 0, 0, 0, a.Location()))
}

// readForm reads a posted room form into what it shows again (f) and the
// Spec it describes, with the problems only the form can have (a number
// that is not one, a window row without a date) by field.
func (p *roomPages) readForm(r *http.Request, tr i18n.Translator) (roomForm, rooms.Spec, map[string][]string) {
	errs := map[string][]string{}
	v := r.PostForm
	text := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := roomForm{
		Name: text("name"), Title: text("title"), Tenant: text("tenant"),
		Lobby: v.Get("lobby") != "", Password: v.Get("password"), MaxOccupants: text("max_occupants"),
		Timezone: text("timezone"), ValidFrom: text("valid_from"), ValidUntil: text("valid_until"),
		OpenEarly: text("open_early"),
	}
	f.Version, _ = strconv.ParseInt(v.Get("version"), 10, 64)
	nonEmpty := func(list []string) []string {
		var out []string
		for _, e := range list {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}
	f.Organizers = nonEmpty(v["organizers"])
	f.Participants = nonEmpty(v["participants"])
	spec := rooms.Spec{
		Name: f.Name, Tenant: f.Tenant, Title: f.Title,
		Organizers: f.Organizers, Participants: f.Participants,
		Lobby: f.Lobby, Password: f.Password,
		Timezone: f.Timezone, ValidFrom: f.ValidFrom, ValidUntil: f.ValidUntil, OpenEarly: f.OpenEarly,
	}
	if f.MaxOccupants != "" {
		n, err := strconv.Atoi(f.MaxOccupants)
		if err != nil || n < 0 {
			errs["max_occupants"] = append(errs["max_occupants"], tr.T("rooms.err.whole_number"))
		} else {
			spec.MaxOccupants = n
		}
	}
	days, starts, ends := v["weekly_day"], v["weekly_start"], v["weekly_end"]
	for i := range days {
		row := slotRow{Day: days[i], Start: strings.TrimSpace(at(starts, i)), End: strings.TrimSpace(at(ends, i))}
		if row.Start == "" && row.End == "" {
			continue
		}
		f.Weekly = append(f.Weekly, row)
		spec.Weekly = append(spec.Weekly, rooms.SlotSpec{Day: row.Day, Start: row.Start, End: row.End})
	}
	tz := f.Timezone
	if tz == "" {
		tz = p.rooms.Timezone()
	}
	loc, locErr := time.LoadLocation(tz)
	dates, wStarts, wEnds, endDates := v["window_date"], v["window_start"], v["window_end"], v["window_end_date"]
	for i := range dates {
		row := windowRow{Date: strings.TrimSpace(dates[i]), Start: strings.TrimSpace(at(wStarts, i)),
			End: strings.TrimSpace(at(wEnds, i)), EndDate: strings.TrimSpace(at(endDates, i))}
		if row == (windowRow{}) {
			continue
		}
		f.Windows = append(f.Windows, row)
		n := len(f.Windows)
		if row.Date == "" || row.Start == "" || row.End == "" {
			errs["windows"] = append(errs["windows"], tr.T("rooms.err.window_incomplete", n))
			continue
		}
		if locErr != nil {
			continue // the timezone's own error says why
		}
		endDate := row.EndDate
		if endDate == "" {
			endDate = row.Date
		}
		start, err1 := formInstant(row.Date, row.Start, loc)
		end, err2 := formInstant(endDate, row.End, loc)
		if err1 != nil || err2 != nil {
			errs["windows"] = append(errs["windows"], tr.T("rooms.err.window_format", n))
			continue
		}
		spec.Windows = append(spec.Windows, rooms.WindowSpec{Start: start.Format(time.RFC3339), End: end.Format(time.RFC3339)})
	}
	return f, spec, errs
}

// formInstant reads a date and a wall-clock time of the form in loc, the
// way the schedule reads its own times (schedule.Date.At).
func formInstant(date, clock string, loc *time.Location) (time.Time, error) {
	d, err := schedule.ParseDate(date)
	if err != nil {
		return time.Time{}, err
	}
	c, err := schedule.ParseClock(clock)
	if err != nil {
		return time.Time{}, err
	}
	return d.At(c, loc), nil
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// addServiceErrors merges the room service's verdict on spec into errs.
func addServiceErrors(errs map[string][]string, err error) bool {
	var ve *rooms.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, fe := range ve.Errors {
		errs[fe.Field] = append(errs[fe.Field], fe.Message)
	}
	return true
}

func (p *roomPages) newForm() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		tr := p.site.translator(r)
		f := p.decorate(tr, u, roomForm{New: true})
		p.renderForm(w, r, u, http.StatusOK, f)
	})
}

func (p *roomPages) editForm() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		rm, ok := p.editable(w, r, u)
		if !ok {
			return
		}
		tr := p.site.translator(r)
		f := p.formOf(tr, u, rm.Spec(), rm)
		f.Version = rm.Version
		links := p.links(rm)
		f.Links = &links
		switch r.URL.Query().Get("done") {
		case "created":
			f.Notice = tr.T("rooms.notice.created")
		case "saved":
			f.Notice = tr.T("rooms.notice.saved")
		}
		p.renderForm(w, r, u, http.StatusOK, f)
	})
}

func (p *roomPages) renderForm(w http.ResponseWriter, r *http.Request, u pageUser, status int, f roomForm) {
	titleKey := "rooms.edit_heading"
	f.Action = p.site.path("/rooms/new")
	if f.New {
		titleKey = "rooms.new_heading"
	} else if f.Links != nil {
		f.Action = f.Links.Edit
	}
	f.Cancel = p.site.path("/rooms")
	p.site.render(w, r, status, "room_form", titleKey, &u.user, f)
}

// parseRoomPost reads a form body (at most maxRoomForm).
func parseRoomPost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxRoomForm)
	return r.ParseForm()
}

func (p *roomPages) create() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		if err := parseRoomPost(w, r); err != nil {
			p.site.fail(w, r, http.StatusBadRequest, p.site.path("/rooms/new"), "rooms.bad_form")
			return
		}
		tr := p.site.translator(r)
		f, spec, errs := p.readForm(r, tr)
		f.New = true
		if !keepOrganizer(u.c, &spec) {
			errs["organizers"] = append(errs["organizers"], tr.T("rooms.err.no_username"))
		}
		if verr := p.rooms.Validate(spec); verr != nil && !addServiceErrors(errs, verr) {
			p.fail(w, r, verr)
			return
		}
		if len(errs) == 0 {
			rm, err := p.rooms.Create(r.Context(), spec, u.c.who)
			switch {
			case err == nil:
				p.audit(r, u.c, "created", rm, specFields(spec))
				http.Redirect(w, r, p.links(rm).Edit+"?done=created", http.StatusSeeOther)
				return
			case errors.Is(err, rooms.ErrConflict):
				errs["name"] = append(errs["name"], tr.T("rooms.err.name_taken"))
			case !addServiceErrors(errs, err):
				p.fail(w, r, err)
				return
			}
		}
		f.Errors = errs
		p.renderForm(w, r, u, http.StatusBadRequest, p.decorate(tr, u, f))
	})
}

func (p *roomPages) update() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		cur, ok := p.editable(w, r, u)
		if !ok {
			return
		}
		if err := parseRoomPost(w, r); err != nil {
			p.site.fail(w, r, http.StatusBadRequest, p.links(cur).Edit, "rooms.bad_form")
			return
		}
		tr := p.site.translator(r)
		f, spec, errs := p.readForm(r, tr)
		links := p.links(cur)
		f.Links = &links
		if !keepOrganizer(u.c, &spec) {
			errs["organizers"] = append(errs["organizers"], tr.T("rooms.err.no_username"))
		}
		if verr := p.rooms.Validate(spec); verr != nil && !addServiceErrors(errs, verr) {
			p.fail(w, r, verr)
			return
		}
		stale := f.Version != cur.Version
		if len(errs) == 0 && !stale {
			rm, err := p.rooms.Update(r.Context(), cur.ID, spec, cur.Version)
			switch {
			case err == nil:
				p.audit(r, u.c, "updated", rm, changedFields(cur.Spec(), rm.Spec()))
				http.Redirect(w, r, p.links(rm).Edit+"?done=saved", http.StatusSeeOther)
				return
			case errors.Is(err, rooms.ErrConflict):
				errs["name"] = append(errs["name"], tr.T("rooms.err.name_taken"))
			case errors.Is(err, rooms.ErrStale):
				stale = true
			case !addServiceErrors(errs, err):
				p.fail(w, r, err)
				return
			}
		}
		status := http.StatusBadRequest
		if stale {
			// Someone saved the room since this form was loaded: nothing
			// is written; the form keeps what this user typed, now based
			// on the current version, so saving again is a deliberate
			// choice to replace the other change.
			if now, err := p.rooms.Get(r.Context(), cur.ID); err == nil {
				cur = now
			}
			f.Problem = tr.T("rooms.err.stale")
			status = http.StatusConflict
		}
		f.Version = cur.Version
		f.Errors = errs
		p.renderForm(w, r, u, status, p.decorate(tr, u, f))
	})
}

// audit writes the one log line of a change, as the API does (values are
// never logged, only the names of the fields).
func (p *roomPages) audit(r *http.Request, c caller, action string, rm *rooms.Room, fields []string) {
	p.log.InfoContext(r.Context(), "pages: room "+action, "by", c.who, "via", c.via, "rights", c.rightsSource,
		"room_id", rm.ID, "room", rm.Name, "tenant", rm.Tenant, "fields", fields)
}

// ---- delete ----

// deletePage is the data of room_delete.html.
type deletePage struct {
	Title, Display string
	Version        int64
	Action, Cancel string
	Problem        string
}

func (p *roomPages) confirmDelete() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		rm, ok := p.editable(w, r, u)
		if !ok {
			return
		}
		p.site.render(w, r, http.StatusOK, "room_delete", "rooms.delete_heading", &u.user, deletePage{
			Title: rm.Title, Display: rm.Display, Version: rm.Version,
			Action: p.links(rm).Delete, Cancel: p.site.path("/rooms"),
		})
	})
}

func (p *roomPages) remove() http.Handler {
	return p.handle(mayManage, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		cur, ok := p.editable(w, r, u)
		if !ok {
			return
		}
		if err := parseRoomPost(w, r); err != nil {
			p.site.fail(w, r, http.StatusBadRequest, p.links(cur).Delete, "rooms.bad_form")
			return
		}
		version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
		err := rooms.ErrStale
		if version == cur.Version {
			err = p.rooms.Delete(r.Context(), cur.ID, cur.Version)
		}
		switch {
		case err == nil:
			p.audit(r, u.c, "deleted", cur, nil)
			http.Redirect(w, r, p.site.path("/rooms?done=deleted"), http.StatusSeeOther)
		case errors.Is(err, rooms.ErrStale):
			if now, gerr := p.rooms.Get(r.Context(), cur.ID); gerr == nil {
				cur = now
			}
			p.site.render(w, r, http.StatusConflict, "room_delete", "rooms.delete_heading", &u.user, deletePage{
				Title: cur.Title, Display: cur.Display, Version: cur.Version,
				Action: p.links(cur).Delete, Cancel: p.site.path("/rooms"),
				Problem: p.site.translator(r).T("rooms.err.stale_delete"),
			})
		default:
			p.fail(w, r, err)
		}
	})
}
