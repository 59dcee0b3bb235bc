package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/ldap"
	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// runExplain answers the school admin's question "why is this teacher not
// a moderator?": it looks the user up with the service account (no
// password needed), lists every group found and how, and shows the rule
// that decides and the claims the token would carry.
func runExplain(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "explain", "-config FILE -backend ID [-room ROOM] [-tenant T] USERNAME")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	backendID := fs.String("backend", "", "id of the ldap or static backend to ask (default: the first one)")
	roomName := fs.String("room", "example-room", "room to evaluate the rules for")
	tenant := fs.String("tenant", "", "tenant to evaluate the rules for")
	timeout := fs.Duration("timeout", 15*time.Second, "give up on the directory after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{code: 2}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate explain: give exactly one USERNAME"}
	}
	username := fs.Arg(0)

	g, err := loadGateway(ctx, *configPath, e)
	if err != nil {
		return err
	}
	defer g.Close()
	cfg := g.cfg
	b, err := pickBackend(cfg, *backendID)
	if err != nil {
		return exitError{code: 2, msg: "jitsi-gate explain: " + err.Error()}
	}
	rn, err := room.Parse(*roomName)
	if err != nil {
		return exitError{code: 2, msg: "jitsi-gate explain: -room: " + err.Error()}
	}
	t, err := g.jitsi.Tenant(*tenant)
	if err != nil {
		return exitError{code: 2, msg: "jitsi-gate explain: -tenant: " + unwrapTarget(err)}
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	w := e.stdout
	var id auth.Identity
	switch b.Type {
	case "ldap":
		x, err := g.ldaps[b.ID].Explain(ctx, username)
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate explain: backend %s: no entry matches %q (user_search.filter %s under %s)",
				b.ID, username, b.LDAP.UserSearch.Filter, b.LDAP.UserSearch.BaseDN)}
		}
		if err != nil {
			return fmt.Errorf("backend %s: %w", b.ID, err)
		}
		id = x.Identity
		fmt.Fprintf(w, "Entry:      %s\n", x.DN)
		names := make([]string, 0, len(x.Attributes))
		for n := range x.Attributes {
			// The ldap package never asks for password attributes and
			// drops them; this is the last line before a terminal.
			if !ldap.IsSecretAttribute(n) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		fmt.Fprintln(w, "Attributes:")
		for _, n := range names {
			fmt.Fprintf(w, "  %s: %s\n", n, strings.Join(x.Attributes[n], "; "))
		}
		fmt.Fprintf(w, "Groups (%d):\n", len(x.Groups))
		for _, gf := range x.Groups {
			fmt.Fprintf(w, "  %-20s %s  (%s)\n", gf.Name, gf.DN, gf.Via)
		}
	case "static":
		// The same lookup as a login (folded usernames).
		var found bool
		id, found = g.statics[b.ID].Lookup(username)
		if !found {
			return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate explain: backend %s has no user %q", b.ID, username)}
		}
		fmt.Fprintf(w, "Static user: %s\nGroups (%d): %s\n", id.Username, len(id.Groups), strings.Join(id.Groups, ", "))
	default:
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate explain: backend %s is type %s; a provider's groups are only known at login — use the preview mode (jitsi.preview: true) to see them", b.ID, b.Type)}
	}
	fmt.Fprintf(w, "Identity:   username %q, subject %q, name %q, email %q\n", id.Username, id.Subject, id.Name, id.Email)
	fmt.Fprintf(w, "Rights:     %s\n", describeRights(g.policy.Rights(id)))

	now := time.Now()
	gr, err := g.grants.Grant(ctx, grant.Request{Identity: id, Room: rn, Tenant: t}, now)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	_, grace := cfg.Rooms.Early()
	explainRoom(w, gr, now, grace)
	d := gr.Decision
	fmt.Fprintf(w, "\nRoom %q", rn.Safe)
	if t != "" {
		fmt.Fprintf(w, " in tenant %q", t)
	}
	if !d.Allowed {
		fmt.Fprintf(w, ": DENIED — %s\n", d.Reason)
		return nil
	}
	fmt.Fprintf(w, ": rule %q → role %s\n", d.Rule, d.Role)
	jwt, err := g.signer.Mint(gr.Claims)
	if err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	_, payload, err := token.Inspect(jwt)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Token claims:\n%s\n", payload)
	return nil
}

// explainRoom prints the room part of the decision: whether the room is
// registered, what the user is in it (match.room_role) and whether its
// time window lets the user in now. grace is rooms.grace.
func explainRoom(w io.Writer, gr grant.Grant, now time.Time, grace time.Duration) {
	r := gr.Room
	if r == nil {
		fmt.Fprintf(w, "\nRegistry:   not registered (room_role: %s)\n", policy.RoomUnregistered)
		return
	}
	role := gr.RoomRole
	if role == "" {
		role = "neither organizer nor participant"
	}
	title := r.Title
	if title == "" {
		title = r.Display
	}
	fmt.Fprintf(w, "\nRegistry:   registered as %q, id %s\n", title, r.ID)
	fmt.Fprintf(w, "  organizers:   %s\n", listText(r.Organizers, "(none)"))
	fmt.Fprintf(w, "  participants: %s\n", listText(r.Participants, "(none)"))
	fmt.Fprintf(w, "  the user is:  %s (room_role: %s)\n", role, strings.Join(roomRolesOf(gr), ", "))
	a := gr.Availability
	if !gr.Decision.Allowed && !gr.Closed {
		// The rules refused before the window mattered; say what it is
		// anyway, as for an organizer.
		a = r.OpenFor(now, gr.RoomRole == policy.RoomOrganizer)
	}
	loc := r.Schedule.Location
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("Mon 2006-01-02 15:04 MST") }
	switch {
	case a.Unrestricted:
		fmt.Fprintln(w, "  window:       always open (no time window)")
	case a.Open && now.Before(a.Current.Start):
		fmt.Fprintf(w, "  window:       organizer early: the slot starts %s, organizers may enter from %s; tokens end %s (window end + rooms.grace %s)\n",
			at(a.Current.Start), at(a.Current.Start.Add(-r.Schedule.OpenEarly)), at(a.Current.End.Add(grace)), grace)
	case a.Open:
		fmt.Fprintf(w, "  window:       open now, %s – %s; tokens end %s (window end + rooms.grace %s)\n",
			at(a.Current.Start), at(a.Current.End), at(a.Current.End.Add(grace)), grace)
	case a.HasNext:
		fmt.Fprintf(w, "  window:       closed; opens %s for this user (slot %s – %s)\n", at(a.OpensAt), at(a.Next.Start), at(a.Next.End))
	default:
		fmt.Fprintln(w, "  window:       closed; no more dates")
	}
}

// roomRolesOf lists the match.room_role values a rule may name to match
// this user in this room.
func roomRolesOf(gr grant.Grant) []string {
	if gr.Room == nil {
		return []string{policy.RoomUnregistered}
	}
	if gr.RoomRole != "" {
		return []string{gr.RoomRole, policy.RoomRegistered}
	}
	return []string{policy.RoomRegistered}
}

// describeRights is the Rights line of explain: what the user may do with
// the room registry, and which rule says so.
func describeRights(r policy.Rights) string {
	var parts []string
	if r.ManageRooms {
		parts = append(parts, fmt.Sprintf("manage rooms (rule %q)", r.ManageRule))
	}
	if r.Admin {
		parts = append(parts, fmt.Sprintf("admin (rule %q)", r.AdminRule))
	}
	if len(parts) == 0 {
		return "none (no rule grants manage_rooms or admin)"
	}
	return strings.Join(parts, ", ")
}

// pickBackend returns the backend with id, or the first backend that can
// be explained when id is empty.
func pickBackend(cfg *config.Config, id string) (config.Backend, error) {
	for _, b := range cfg.Backends {
		if b.ID == id || (id == "" && b.Type != "oidc") {
			return b, nil
		}
	}
	if id == "" {
		return config.Backend{}, errors.New("the config has no ldap or static backend")
	}
	ids := make([]string, 0, len(cfg.Backends))
	for _, b := range cfg.Backends {
		ids = append(ids, b.ID)
	}
	return config.Backend{}, fmt.Errorf("no backend %q (have: %s)", id, strings.Join(ids, ", "))
}
