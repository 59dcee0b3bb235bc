package jitsiconf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/reservation"
)

// luaTable is a Lua table read back into Go: its array part and its
// string keys.
type luaTable struct {
	Array []any
	Map   map[string]any
}

// fromLua converts what a prosody config assigns into Go values.
func fromLua(v lua.LValue) any {
	switch v := v.(type) {
	case lua.LString:
		return string(v)
	case lua.LBool:
		return bool(v)
	case lua.LNumber:
		return float64(v)
	case *lua.LTable:
		t := luaTable{Map: map[string]any{}}
		for i := 1; i <= v.Len(); i++ {
			t.Array = append(t.Array, fromLua(v.RawGetInt(i)))
		}
		v.ForEach(func(k, val lua.LValue) {
			if ks, ok := k.(lua.LString); ok {
				t.Map[string(ks)] = fromLua(val)
			}
		})
		return t
	case *lua.LNilType:
		return nil
	}
	return fmt.Sprintf("<%s>", v.Type())
}

// runProsodyConfig executes a prosody config file as Lua, the way
// prosody's config loader does for the parts jitsi-config prints:
// `VirtualHost "name"` and `Component "name" "module"` start a section,
// every other global assignment sets an option of the current section
// ("*", the global section, before the first). A syntax error (say, a ','
// that docker's comma split cut in two) is an error here as in prosody.
func runProsodyConfig(text string) (map[string]map[string]any, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	sections := map[string]map[string]any{"*": {}}
	current := "*"
	open := func(name string) {
		current = name
		if sections[name] == nil {
			sections[name] = map[string]any{}
		}
	}
	L.SetGlobal("VirtualHost", L.NewFunction(func(L *lua.LState) int {
		open(L.CheckString(1))
		return 0
	}))
	L.SetGlobal("Component", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		open(name)
		L.Push(L.NewFunction(func(L *lua.LState) int {
			sections[name]["component_module"] = L.CheckString(1)
			return 0
		}))
		return 1
	}))
	mt := L.NewTable()
	L.SetField(mt, "__newindex", L.NewFunction(func(L *lua.LState) int {
		sections[current][L.CheckString(2)] = fromLua(L.Get(3))
		return 0
	}))
	L.SetMetatable(L.Get(lua.GlobalsIndex), mt)
	if err := L.DoString(text); err != nil {
		return nil, err
	}
	return sections, nil
}

// moduleReads are the options mod_reservations reads
// (docs/reference/jitsi-rooms-and-sso.md §1.2-§1.6); anything else named
// reservations_* would be silently ignored by prosody.
var moduleReads = []string{
	"reservations_api_prefix", "reservations_api_headers", "reservations_api_timeout",
	"reservations_api_retry_count", "reservations_api_retry_delay", "reservations_api_should_retry_for_code",
	"reservations_skip_breakout_rooms", "reservations_enable_max_occupants",
	"reservations_enable_lobby_support", "reservations_enable_password_support",
}

// reservationOptions picks the reservations_* options of a section.
func reservationOptions(t *testing.T, section map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range section {
		if !strings.HasPrefix(k, "reservations_") {
			continue
		}
		if !slices.Contains(moduleReads, k) {
			t.Errorf("%s is not an option mod_reservations reads", k)
		}
		out[k] = v
	}
	return out
}

// composeExpand expands ${VAR} in a .env value the way docker compose
// does for unquoted values.
func composeExpand(v string, env map[string]string) string {
	return regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).ReplaceAllStringFunc(v, func(m string) string {
		return env[m[2:len(m)-1]]
	})
}

// resolvePlaceholder does what the admin does with a token placeholder:
// "<contents of FILE>" becomes the file's first line, "<value of VAR>" the
// variable's value.
func resolvePlaceholder(t *testing.T, v string) string {
	t.Helper()
	if f, ok := strings.CutPrefix(v, "<contents of "); ok {
		b, err := os.ReadFile(strings.TrimSuffix(f, ">"))
		if err != nil {
			t.Fatalf("placeholder %q: %v", v, err)
		}
		return strings.TrimRight(string(b), "\r\n")
	}
	if name, ok := strings.CutPrefix(v, "<value of "); ok {
		return testEnv[strings.TrimSuffix(name, ">")]
	}
	return v
}

// oneRoom is a registry with every room registered and always open.
type oneRoom struct{}

func (oneRoom) Lookup(_ context.Context, tenant, safe string) (reservation.Room, error) {
	return reservation.Room{ID: "r-" + safe, Name: safe, Tenant: tenant, Lobby: true, MaxOccupants: 30}, nil
}
func (oneRoom) ByID(context.Context, string) (reservation.Room, error) {
	return reservation.Room{}, reservation.ErrNotFound
}
func (oneRoom) Ended(context.Context, string, time.Time) error { return nil }

// reservationAPI serves the gateway's reservation handler where the
// gateway mounts it (<public_url path>/reservations) and returns the
// generated prefix moved to that server.
func reservationAPI(t *testing.T, cfg *config.Config, prefix string) string {
	t.Helper()
	pu, err := url.Parse(cfg.Server.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	h, err := reservation.New(reservation.Options{
		Token: cfg.Reservations.Token, Prefix: strings.TrimRight(pu.Path, "/") + ReservationsPath, Rooms: oneRoom{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), UnregisteredRooms: reservation.Policy(cfg.Reservations.UnregisteredRooms),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	gu, err := url.Parse(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL + gu.Path
}

// postLikeProsody sends the POST mod_reservations sends for the first join
// of node, with headers, and returns the status and body.
func postLikeProsody(t *testing.T, prefix string, headers map[string]any, node string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"name": {node}, "start_time": {time.Now().UTC().Format("2006-01-02T15:04:05.000Z")},
		"mail_owner": {"0b6a2a0c-7c5e-4f0e-9d55-6c2f1d1b3a77@meet.jitsi"}}
	req, err := http.NewRequest(http.MethodPost, prefix+"/conference", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Prosody (0.12.3; Linux)")
	for k, v := range headers {
		req.Header.Set(k, fmt.Sprint(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

// TestReservationsAgreement: the reservation settings jitsi-config prints,
// run as Lua the way prosody reads them (the .env after docker's comma
// split, and the Debian snippet), are the options mod_reservations reads,
// agree with each other, and make prosody's request succeed against the
// gateway's own reservation handler with the gateway's token; a token
// that differs is refused.
func TestReservationsAgreement(t *testing.T) {
	for _, name := range goldenConfigs {
		t.Run(name, func(t *testing.T) {
			cfg, opts := loadTestConfig(t, name)
			if !cfg.Reservations.Enabled() {
				t.Fatalf("testdata/%s.yaml should enable reservations", name)
			}
			s, err := Build(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			r := s.Reservations
			prosodyText, _ := s.Render(FormatProsody)
			envText, _ := s.Render(FormatEnv)

			// The Debian snippet.
			sections, err := runProsodyConfig(prosodyText)
			if err != nil {
				t.Fatalf("the prosody snippet is not valid Lua: %v", err)
			}
			vh := sections[s.XMPPDomain]
			mods, _ := vh["modules_enabled"].(luaTable)
			if !slices.Contains(mods.Array, any(ModReservations)) {
				t.Errorf("VirtualHost %s does not load reservations: %v", s.XMPPDomain, mods.Array)
			}
			if r.LobbySupport && !slices.Contains(mods.Array, any(ModPersistentLobby)) {
				t.Errorf("lobby support without persistent_lobby on the VirtualHost: %v", mods.Array)
			}
			fromProsody := reservationOptions(t, vh)
			prefix, _ := fromProsody["reservations_api_prefix"].(string)
			if prefix != cfg.Server.PublicURL+ReservationsPath || strings.HasSuffix(prefix, "/") {
				t.Errorf("reservations_api_prefix = %q, want %s%s", prefix, cfg.Server.PublicURL, ReservationsPath)
			}
			for opt, want := range map[string]bool{
				"reservations_enable_lobby_support":    r.LobbySupport,
				"reservations_enable_password_support": r.PasswordSupport,
				"reservations_enable_max_occupants":    r.MaxOccupants,
			} {
				if got, ok := fromProsody[opt].(bool); !ok || got != want {
					t.Errorf("%s = %v, want %v", opt, fromProsody[opt], want)
				}
			}
			hdrs, ok := fromProsody["reservations_api_headers"].(luaTable)
			if !ok || len(hdrs.Map) != 1 {
				t.Fatalf("reservations_api_headers = %#v, want a table with one header", fromProsody["reservations_api_headers"])
			}
			auth, _ := hdrs.Map["Authorization"].(string)
			placeholder, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || resolvePlaceholder(t, placeholder) != cfg.Reservations.Token {
				t.Errorf("Authorization %q does not name where the token is", auth)
			}
			prosodyHeaders := map[string]any{"Authorization": "Bearer " + resolvePlaceholder(t, placeholder)}

			// The docker .env: docker pastes XMPP_CONFIGURATION into the
			// VirtualHost split at commas, one option a line.
			env := parseEnv(t, envText)
			if env["PROSODY_RESERVATION_ENABLED"] != "true" || env["PROSODY_RESERVATION_REST_BASE_URL"] != prefix {
				t.Errorf("env: PROSODY_RESERVATION_ENABLED=%q PROSODY_RESERVATION_REST_BASE_URL=%q, want true and %q",
					env["PROSODY_RESERVATION_ENABLED"], env["PROSODY_RESERVATION_REST_BASE_URL"], prefix)
			}
			if slices.Contains(splitList(env["XMPP_MODULES"]), ModReservations) {
				t.Error("env lists reservations in XMPP_MODULES; docker loads it for PROSODY_RESERVATION_ENABLED")
			}
			if r.LobbySupport && !slices.Contains(splitList(env["XMPP_MODULES"]), ModPersistentLobby) {
				t.Errorf("env XMPP_MODULES=%q lacks persistent_lobby", env["XMPP_MODULES"])
			}
			composeEnv := map[string]string{}
			for k, v := range testEnv {
				composeEnv[k] = v
			}
			var lines []string
			for _, part := range strings.Split(composeExpand(env["XMPP_CONFIGURATION"], composeEnv), ",") {
				if part != "" { // sprig's compact
					lines = append(lines, "    "+part)
				}
			}
			dockerVH := "VirtualHost " + luaString(s.XMPPDomain) + "\n" +
				"    reservations_api_prefix = " + luaString(env["PROSODY_RESERVATION_REST_BASE_URL"]) + "\n" +
				strings.Join(lines, "\n") + "\n"
			dockerSections, err := runProsodyConfig(dockerVH)
			if err != nil {
				t.Fatalf("XMPP_CONFIGURATION split at commas is not valid Lua: %v\n%s", err, dockerVH)
			}
			fromEnv := reservationOptions(t, dockerSections[s.XMPPDomain])
			dockerHdrs, _ := fromEnv["reservations_api_headers"].(luaTable)
			envAuth, _ := dockerHdrs.Map["Authorization"].(string)
			envToken, _ := strings.CutPrefix(envAuth, "Bearer ")
			dockerHeaders := map[string]any{"Authorization": "Bearer " + resolvePlaceholder(t, envToken)}
			if dockerHeaders["Authorization"] != prosodyHeaders["Authorization"] {
				t.Errorf("the .env sends %q, the prosody snippet %q", dockerHeaders["Authorization"], prosodyHeaders["Authorization"])
			}
			for k, v := range fromProsody {
				if k == "reservations_api_headers" {
					continue
				}
				if fromEnv[k] != v {
					t.Errorf("%s: .env gives %v, prosody snippet %v", k, fromEnv[k], v)
				}
			}
			if len(fromEnv) != len(fromProsody) {
				t.Errorf(".env options %v, prosody options %v", fromEnv, fromProsody)
			}

			// Prosody's request, as each rendering configures it, against the
			// gateway's reservation handler.
			node := "physics"
			if tenant := cfg.Jitsi.PathTenant(); tenant != "" {
				node = "[" + tenant + "]physics"
			} else if len(s.Tenants) > 0 {
				node = "[" + s.Tenants[0] + "]physics"
			}
			for what, h := range map[string]map[string]any{"prosody": prosodyHeaders, "env": dockerHeaders} {
				status, body := postLikeProsody(t, reservationAPI(t, cfg, prefix), h, node)
				if status != http.StatusOK || body["name"] != node || body["id"] != "r-physics" {
					t.Errorf("%s settings: POST /conference for %s: %d %v, want 200 with name %s", what, node, status, body, node)
				}
			}
			wrong := map[string]any{"Authorization": "Bearer " + cfg.Reservations.Token + "x"}
			if status, _ := postLikeProsody(t, reservationAPI(t, cfg, prefix), wrong, node); status != http.StatusUnauthorized {
				t.Errorf("a different token: status %d, want 401", status)
			}
		})
	}
}

// TestRunProsodyConfigCatchesCommaSplit: the Lua check above fails for the
// mistake the issue warns about, a ',' inside a table in XMPP_CONFIGURATION.
func TestRunProsodyConfigCatchesCommaSplit(t *testing.T) {
	value := `reservations_api_headers = { ["Authorization"] = "Bearer x", ["X-Other"] = "y" }`
	var lines []string
	for _, part := range strings.Split(value, ",") {
		lines = append(lines, "    "+part)
	}
	if _, err := runProsodyConfig("VirtualHost \"meet.jitsi\"\n" + strings.Join(lines, "\n")); err == nil {
		t.Error("a table split at its comma parsed as Lua")
	}
	sections, err := runProsodyConfig("VirtualHost \"meet.jitsi\"\n    " + strings.ReplaceAll(value, ",", ";"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sections["meet.jitsi"]["reservations_api_headers"].(luaTable).Map["X-Other"]; got != "y" {
		t.Errorf("X-Other = %v, want y", got)
	}
}
