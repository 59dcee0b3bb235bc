package session

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newTestManager(t testing.TB, mod func(*Options)) (*Manager, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	o := Options{Secret: testSecret, Lifetime: 8 * time.Hour, CookieName: "jg", Path: "/", Now: c.Now}
	if mod != nil {
		mod(&o)
	}
	m, err := NewManager(o)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m, c
}

func testUser() User {
	return User{Identity: auth.Identity{
		Backend: "ldap", Subject: "uid=tina,ou=people,dc=example,dc=org", Username: "tina",
		Name: "Tina Teacher", Email: "tina@example.org", Groups: []string{"teachers", "staff"},
	}}
}

// cookies returns the Set-Cookie headers of a recorder by name.
func cookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// requestWith builds a request carrying the given cookies.
func requestWith(cs ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/join/x", nil)
	for _, c := range cs {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func saveUser(t testing.TB, m *Manager, u User) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := m.Save(rec, httptest.NewRequest(http.MethodPost, "/login/demo", nil), u); err != nil {
		t.Fatalf("Save: %v", err)
	}
	c := cookies(rec)["jg"]
	if c == nil {
		t.Fatalf("Save set no cookie jg: %v", rec.Header())
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	m, clk := newTestManager(t, nil)
	u := testUser()
	c := saveUser(t, m, u)
	if strings.Contains(c.Value, "tina") || strings.Contains(c.Value, "teachers") {
		t.Errorf("cookie value is not encrypted: %s", c.Value)
	}
	got, err := m.Load(requestWith(c))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := u
	want.IssuedAt = clk.t
	want.ExpiresAt = clk.t.Add(8 * time.Hour)
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times = %v..%v, want %v..%v", got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt)
	}
	got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
}

func TestSaveTimes(t *testing.T) {
	m, clk := newTestManager(t, nil)
	tests := []struct {
		name               string
		issued, expires    time.Time
		wantIssued, wantEx time.Time
	}{
		{"zero: now and now+lifetime", time.Time{}, time.Time{}, clk.t, clk.t.Add(8 * time.Hour)},
		{"explicit shorter expiry kept", clk.t.Add(-time.Hour), clk.t.Add(time.Hour), clk.t.Add(-time.Hour), clk.t.Add(time.Hour)},
		{"issued earlier: expiry from issued", clk.t.Add(-2 * time.Hour), time.Time{}, clk.t.Add(-2 * time.Hour), clk.t.Add(6 * time.Hour)},
		{"expiry capped at now+lifetime", time.Time{}, clk.t.Add(48 * time.Hour), clk.t, clk.t.Add(8 * time.Hour)},
		{"sub-second precision dropped", clk.t.Add(1500 * time.Millisecond), time.Time{}, clk.t.Add(time.Second), clk.t.Add(8 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := testUser()
			u.IssuedAt, u.ExpiresAt = tt.issued, tt.expires
			got, err := m.Load(requestWith(saveUser(t, m, u)))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !got.IssuedAt.Equal(tt.wantIssued) || !got.ExpiresAt.Equal(tt.wantEx) {
				t.Errorf("got %v..%v, want %v..%v", got.IssuedAt, got.ExpiresAt, tt.wantIssued, tt.wantEx)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	m, _ := newTestManager(t, nil)
	good := saveUser(t, m, testUser())
	other, _ := newTestManager(t, func(o *Options) { o.Secret = []byte("another-secret-that-is-long-enough-32") })
	foreign := saveUser(t, other, testUser())

	// A flow cookie's value presented as the user cookie.
	rec := httptest.NewRecorder()
	if err := m.SaveFlow(rec, requestWith(), Flow{Backend: "oidc", State: "s", Nonce: "n", Verifier: "v"}); err != nil {
		t.Fatal(err)
	}
	flowValue := cookies(rec)[m.flowCookieName("s")].Value

	// A gorilla default (gob) cookie made with the raw secret, as a
	// naive implementation would.
	gob, err := securecookie.New(testSecret, testSecret[:32]).Encode("jg", map[interface{}]interface{}{"v": "x"})
	if err != nil {
		t.Fatal(err)
	}

	flip := []byte(good.Value)
	flip[len(flip)/2] ^= 1

	tests := []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"absent", nil},
		{"empty value", []*http.Cookie{{Name: "jg", Value: ""}}},
		{"garbage", []*http.Cookie{{Name: "jg", Value: "not-a-cookie"}}},
		{"tampered", []*http.Cookie{{Name: "jg", Value: string(flip)}}},
		{"truncated", []*http.Cookie{{Name: "jg", Value: good.Value[:len(good.Value)-4]}}},
		{"other secret", []*http.Cookie{{Name: "jg", Value: foreign.Value}}},
		{"flow cookie replayed as user cookie", []*http.Cookie{{Name: "jg", Value: flowValue}}},
		{"gob cookie from raw secret", []*http.Cookie{{Name: "jg", Value: gob}}},
		{"valid value under another name", []*http.Cookie{{Name: "jg_flow", Value: good.Value}}},
		{"oversized", []*http.Cookie{{Name: "jg", Value: strings.Repeat("A", 5000)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := m.Load(requestWith(tt.cookies...))
			if !errors.Is(err, ErrNoSession) {
				t.Fatalf("Load err = %v, want ErrNoSession", err)
			}
			if !reflect.DeepEqual(u, User{}) {
				t.Errorf("Load returned user %+v with error", u)
			}
		})
	}
}

func TestLoadSkipsStaleDuplicate(t *testing.T) {
	m, _ := newTestManager(t, nil)
	good := saveUser(t, m, testUser())
	// Browsers send the more specific path first; an old, invalid cookie
	// must not hide the valid one.
	r := requestWith(&http.Cookie{Name: "jg", Value: "stale"}, good)
	if _, err := m.Load(r); err != nil {
		t.Fatalf("Load with a stale duplicate: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	m, clk := newTestManager(t, func(o *Options) { o.Lifetime = time.Hour })
	c := saveUser(t, m, testUser())
	start := clk.t
	tests := []struct {
		at      time.Duration
		wantErr bool
	}{
		{0, false},
		{59 * time.Minute, false},
		{time.Hour - time.Second, false},
		{time.Hour, true},
		{30 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		clk.t = start.Add(tt.at)
		_, err := m.Load(requestWith(c))
		if gotErr := err != nil; gotErr != tt.wantErr {
			t.Errorf("at +%v: err = %v, want error %v", tt.at, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrNoSession) {
			t.Errorf("at +%v: err = %v, not ErrNoSession", tt.at, err)
		}
	}
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		secure     bool
		path       string
		wantPath   string
		lifetime   time.Duration
		flowLife   time.Duration
		wantMaxAge int
		wantFlow   int
	}{
		{"http defaults", false, "", "/", 0, 0, 8 * 3600, 600},
		{"https under a path", true, "/_auth", "/_auth", 2 * time.Hour, 5 * time.Minute, 7200, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestManager(t, func(o *Options) {
				o.Secure, o.Path, o.Lifetime, o.FlowLifetime = tt.secure, tt.path, tt.lifetime, tt.flowLife
			})
			rec := httptest.NewRecorder()
			r := requestWith()
			if err := m.Save(rec, r, testUser()); err != nil {
				t.Fatal(err)
			}
			if err := m.SaveFlow(rec, r, Flow{Backend: "oidc", State: "s"}); err != nil {
				t.Fatal(err)
			}
			if err := m.SaveLogoutHint(rec, r, "eyJhbGciOi.e30.sig"); err != nil {
				t.Fatal(err)
			}
			cs := cookies(rec)
			for name, maxAge := range map[string]int{"jg": tt.wantMaxAge, m.flowCookieName("s"): tt.wantFlow, "jg_logout": tt.wantMaxAge} {
				c := cs[name]
				if c == nil {
					t.Errorf("no cookie %s", name)
					continue
				}
				if !c.HttpOnly || c.Secure != tt.secure || c.SameSite != http.SameSiteLaxMode || c.Path != tt.wantPath || c.MaxAge != maxAge || c.Domain != "" {
					t.Errorf("%s: HttpOnly=%v Secure=%v SameSite=%v Path=%q MaxAge=%d Domain=%q; want true %v Lax %q %d \"\"",
						name, c.HttpOnly, c.Secure, c.SameSite, c.Path, c.MaxAge, c.Domain, tt.secure, tt.wantPath, maxAge)
				}
			}
			// The raw header, as browsers see it.
			for _, h := range rec.Header().Values("Set-Cookie") {
				if !strings.Contains(h, "HttpOnly") || !strings.Contains(h, "SameSite=Lax") || strings.Contains(h, "Secure") != tt.secure {
					t.Errorf("Set-Cookie %q lacks the expected attributes", h)
				}
			}
		})
	}
}

func TestFlow(t *testing.T) {
	m, clk := newTestManager(t, func(o *Options) { o.FlowLifetime = 5 * time.Minute })
	f := Flow{Backend: "keycloak", State: "st", Nonce: "no", Verifier: "ve", Target: `{"room":"mathe-übung"}`}
	rec := httptest.NewRecorder()
	if err := m.SaveFlow(rec, requestWith(), f); err != nil {
		t.Fatal(err)
	}
	cs := cookies(rec)
	if cs["jg"] != nil {
		t.Errorf("SaveFlow touched the user cookie")
	}
	fc := cs[m.flowCookieName("st")]
	if fc == nil || !strings.HasPrefix(fc.Name, "jg_flow_") || len(cs) != 1 {
		t.Fatalf("want one flow cookie jg_flow_<hash>, got %v", rec.Header().Values("Set-Cookie"))
	}
	// The flow is not a login.
	if _, err := m.Load(requestWith(fc)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load with only a flow cookie: err = %v", err)
	}
	got, err := m.LoadFlow(requestWith(fc), "st")
	if err != nil {
		t.Fatalf("LoadFlow: %v", err)
	}
	f.ExpiresAt = clk.t.Add(5 * time.Minute)
	if !got.ExpiresAt.Equal(f.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, f.ExpiresAt)
	}
	got.ExpiresAt = f.ExpiresAt
	if !reflect.DeepEqual(got, f) {
		t.Errorf("LoadFlow = %+v, want %+v", got, f)
	}

	refused := []struct {
		name  string
		r     *http.Request
		state string
		other bool // ErrOtherFlow
	}{
		{"no state", requestWith(fc), "", false},
		{"other state", requestWith(fc), "st2", true},
		{"user cookie only", requestWith(saveUser(t, m, testUser())), "st", false},
		// The cookie moved to another state's name: its MAC covers the name.
		{"renamed cookie", requestWith(&http.Cookie{Name: m.flowCookieName("x"), Value: fc.Value}), "x", false},
	}
	for _, tt := range refused {
		_, err := m.LoadFlow(tt.r, tt.state)
		if !errors.Is(err, ErrNoSession) || errors.Is(err, ErrOtherFlow) != tt.other {
			t.Errorf("%s: err = %v, want ErrNoSession (ErrOtherFlow %v)", tt.name, err, tt.other)
		}
	}

	clk.t = clk.t.Add(5 * time.Minute)
	if _, err := m.LoadFlow(requestWith(fc), "st"); !errors.Is(err, ErrNoSession) {
		t.Errorf("LoadFlow after FlowLifetime: err = %v, want ErrNoSession", err)
	}

	rec = httptest.NewRecorder()
	m.ClearFlow(rec, "st")
	cs = cookies(rec)
	if c := cs[fc.Name]; c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("ClearFlow did not expire the flow cookie: %+v", c)
	}
	if len(cs) != 1 {
		t.Errorf("ClearFlow set %d cookies, want 1", len(cs))
	}
}

// TestFlowsInSeveralTabs: each login in progress has its own cookie, so
// two tabs both finish; beyond MaxFlows (or MaxFlowBytes) the oldest go.
func TestFlowsInSeveralTabs(t *testing.T) {
	m, clk := newTestManager(t, nil)
	var jar []*http.Cookie // what the browser holds, oldest first
	start := func(state, target string) {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := m.SaveFlow(rec, requestWith(jar...), Flow{Backend: "idp", State: state, Target: target}); err != nil {
			t.Fatalf("SaveFlow %s: %v", state, err)
		}
		for _, c := range rec.Result().Cookies() {
			jar = slices.DeleteFunc(jar, func(o *http.Cookie) bool { return o.Name == c.Name })
			if c.MaxAge >= 0 {
				jar = append(jar, c)
			}
		}
		clk.t = clk.t.Add(time.Second)
	}
	start("tab1", "room=a")
	start("tab2", "room=b")
	for _, st := range []string{"tab1", "tab2"} {
		if f, err := m.LoadFlow(requestWith(jar...), st); err != nil || f.State != st {
			t.Errorf("flow %s after two tabs: %+v, %v", st, f, err)
		}
	}
	// Finishing tab 1 clears only its cookie.
	rec := httptest.NewRecorder()
	m.ClearFlow(rec, "tab1")
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].Name != m.flowCookieName("tab1") {
		t.Errorf("ClearFlow(tab1) set %v", rec.Header().Values("Set-Cookie"))
	}

	// Count bound: the oldest are dropped.
	for i := 3; i <= 8; i++ {
		start(fmt.Sprint("tab", i), "room=c")
	}
	if len(jar) != MaxFlows {
		t.Fatalf("browser holds %d flow cookies, want MaxFlows %d", len(jar), MaxFlows)
	}
	for i := 1; i <= 8; i++ {
		_, err := m.LoadFlow(requestWith(jar...), fmt.Sprint("tab", i))
		if want := i > 8-MaxFlows; (err == nil) != want {
			t.Errorf("tab%d: err %v, want kept %v", i, err, want)
		}
	}

	// Size bound: large targets push out old ones although fewer than
	// MaxFlows are held: three ~2.4 KB flows do not fit into MaxFlowBytes.
	big := "room=" + strings.Repeat("%c3%bc", 190)
	start("big1", big)
	start("big2", big)
	start("big3", big)
	total := 0
	for _, c := range jar {
		total += len(c.Value)
	}
	if total > MaxFlowBytes {
		t.Errorf("flow cookies hold %d bytes, want at most %d", total, MaxFlowBytes)
	}
	for st, want := range map[string]bool{"big1": false, "big2": true, "big3": true} {
		if _, err := m.LoadFlow(requestWith(jar...), st); (err == nil) != want {
			t.Errorf("flow %s: err %v, want kept %v", st, err, want)
		}
	}

	// A flow too large for any cookie is refused, not truncated.
	rec = httptest.NewRecorder()
	if err := m.SaveFlow(rec, requestWith(), Flow{Backend: "idp", State: "huge", Target: strings.Repeat("x", 3000)}); err == nil {
		t.Error("SaveFlow of a 3 KB target succeeded")
	}

	// Junk under the flow prefix is expired, never kept.
	rec = httptest.NewRecorder()
	junk := &http.Cookie{Name: "jg_flow_000000000000", Value: "junk"}
	if err := m.SaveFlow(rec, requestWith(junk), Flow{Backend: "idp", State: "s"}); err != nil {
		t.Fatal(err)
	}
	if c := cookies(rec)[junk.Name]; c == nil || c.MaxAge >= 0 {
		t.Errorf("junk flow cookie not expired: %v", rec.Header().Values("Set-Cookie"))
	}

	// Logout clears every flow in the browser.
	rec = httptest.NewRecorder()
	m.Clear(rec, requestWith(jar...))
	cleared := cookies(rec)
	for _, c := range jar {
		if cc := cleared[c.Name]; cc == nil || cc.MaxAge >= 0 {
			t.Errorf("Clear left flow cookie %s", c.Name)
		}
	}
}

func TestSaveRejectsIncomplete(t *testing.T) {
	m, _ := newTestManager(t, nil)
	rec := httptest.NewRecorder()
	if err := m.Save(rec, requestWith(), User{Identity: auth.Identity{Username: "x"}}); err == nil {
		t.Error("Save without backend/subject succeeded")
	}
	if err := m.SaveFlow(rec, requestWith(), Flow{Backend: "oidc"}); err == nil {
		t.Error("SaveFlow without state succeeded")
	}
	if n := len(rec.Result().Cookies()); n != 0 {
		t.Errorf("failed saves set %d cookies", n)
	}
}

func TestSaveTooManyGroups(t *testing.T) {
	m, _ := newTestManager(t, nil)
	u := testUser()
	for i := range 300 {
		u.Groups = append(u.Groups, "domain-group-number-"+strings.Repeat("x", i%5))
	}
	rec := httptest.NewRecorder()
	err := m.Save(rec, requestWith(), u)
	if err == nil || !strings.Contains(err.Error(), "groups") {
		t.Fatalf("Save of a huge session: err = %v, want an error mentioning groups", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("oversized session still set a cookie")
	}
}

func TestClear(t *testing.T) {
	m, _ := newTestManager(t, func(o *Options) { o.Path = "/_auth"; o.Secure = true })
	rec := httptest.NewRecorder()
	m.Clear(rec, requestWith())
	cs := cookies(rec)
	for _, name := range []string{"jg", "jg_flow", "jg_logout"} {
		c := cs[name]
		if c == nil {
			t.Errorf("Clear did not touch %s", name)
			continue
		}
		if c.MaxAge >= 0 || c.Value != "" || c.Path != "/_auth" || !c.Secure || !c.HttpOnly {
			t.Errorf("%s not expired with matching attributes: %+v", name, c)
		}
	}
	if len(cs) != 3 {
		t.Errorf("Clear set %d cookies, want 3", len(cs))
	}
}

func TestLogoutHint(t *testing.T) {
	m, _ := newTestManager(t, nil)
	small := "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("a", 1200) + ".sig"
	tests := []struct {
		name      string
		hint      string
		wantSet   bool
		wantValue string
	}{
		{"typical id token", small, true, small},
		{"too big: skipped", strings.Repeat("b", 2900), false, ""},
		{"far too big: skipped", strings.Repeat("c", 10000), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := m.SaveLogoutHint(rec, requestWith(), tt.hint); err != nil {
				t.Fatalf("SaveLogoutHint: %v", err)
			}
			c := cookies(rec)["jg_logout"]
			if (c != nil) != tt.wantSet {
				t.Fatalf("cookie set = %v, want %v", c != nil, tt.wantSet)
			}
			if c == nil {
				return
			}
			if len(c.Value) > MaxLogoutHintLen {
				t.Errorf("cookie is %d bytes, over %d", len(c.Value), MaxLogoutHintLen)
			}
			if strings.Contains(c.Value, "eyJhbGci") {
				t.Error("hint stored in clear text")
			}
			if got := m.LoadLogoutHint(requestWith(c)); got != tt.wantValue {
				t.Errorf("LoadLogoutHint = %.20q…, want %.20q…", got, tt.wantValue)
			}
			// The hint is not a login.
			if _, err := m.Load(requestWith(&http.Cookie{Name: "jg", Value: c.Value})); err == nil {
				t.Error("logout cookie accepted as user cookie")
			}
		})
	}
	if got := m.LoadLogoutHint(requestWith()); got != "" {
		t.Errorf("LoadLogoutHint without cookie = %q", got)
	}
	if got := m.LoadLogoutHint(requestWith(&http.Cookie{Name: "jg_logout", Value: "forged"})); got != "" {
		t.Errorf("LoadLogoutHint with forged cookie = %q", got)
	}
}

func TestNewManagerErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"short secret", func(o *Options) { o.Secret = []byte("0123456789abcdef0123456789abcde") }, "secret is 31 bytes, need at least 32"},
		{"no secret", func(o *Options) { o.Secret = nil }, "secret is 0 bytes"},
		{"negative lifetime", func(o *Options) { o.Lifetime = -time.Hour }, "negative"},
		{"sub-second lifetime", func(o *Options) { o.FlowLifetime = time.Millisecond }, "at least one second"},
		{"bad cookie name", func(o *Options) { o.CookieName = "a b;c" }, "cookie name"},
		{"relative path", func(o *Options) { o.Path = "auth" }, "must start with /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Secret: testSecret}
			tt.mod(&o)
			m, err := NewManager(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewManager = %v, %v; want error containing %q", m, err, tt.want)
			}
		})
	}
}

func TestDefaultCookieName(t *testing.T) {
	m, err := NewManager(Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := m.Save(rec, requestWith(), testUser()); err != nil {
		t.Fatal(err)
	}
	if c := cookies(rec)[DefaultCookieName]; c == nil || c.MaxAge != int(DefaultLifetime/time.Second) {
		t.Errorf("default cookie = %+v", c)
	}
}

// benchUser is a realistic ~200-byte session payload.
func benchUser() User {
	return User{Identity: auth.Identity{
		Backend: "ldap", Subject: "tina.teacher", Username: "tina.teacher", Name: "Tina Teacher",
		Email: "tina.teacher@gymnasium-example.de", Groups: []string{"teachers", "staff", "mathe", "fachschaft-physik"},
	}}
}

func BenchmarkLoad(b *testing.B) {
	m, _ := newTestManager(b, func(o *Options) { o.Now = time.Now })
	c := saveUser(b, m, benchUser())
	r := requestWith(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Load(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c.Value)), "cookie-bytes")
}

func BenchmarkSave(b *testing.B) {
	m, _ := newTestManager(b, func(o *Options) { o.Now = time.Now })
	u := benchUser()
	r := requestWith()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if err := m.Save(rec, r, u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadGorillaGob is the naive baseline from docs/reference/performance.md: the
// same fields in a sessions Values map, gob-serialised, hash+block keys,
// decoded through securecookie. Run next to BenchmarkLoad to compare.
func BenchmarkLoadGorillaGob(b *testing.B) {
	u := benchUser()
	sc := securecookie.New(testSecret[:32], testSecret[:32])
	v := map[interface{}]interface{}{
		"backend": u.Backend, "subject": u.Subject, "username": u.Username, "name": u.Name,
		"email": u.Email, "groups": u.Groups, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}
	enc, err := sc.Encode("jg", v)
	if err != nil {
		b.Fatal(err)
	}
	r := requestWith(&http.Cookie{Name: "jg", Value: enc})
	b.ReportAllocs()
	for b.Loop() {
		c, err := r.Cookie("jg")
		if err != nil {
			b.Fatal(err)
		}
		var dst map[interface{}]interface{}
		if err := sc.Decode("jg", c.Value, &dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "cookie-bytes")
}

// TestDeriveKeys pins the key derivation (changing it logs every user out)
// and checks that each cookie purpose has its own keys.
func TestDeriveKeys(t *testing.T) {
	h, b, err := deriveKeys(testSecret, "user")
	if err != nil {
		t.Fatal(err)
	}
	const wantHash = "c610b47c5c3f0432b860add8a81d1fdcd5b1f714647fc9920c4b566b84283e71"
	const wantBlock = "86254343c85c852830ae1c4ce03f030dc0fc5f7507a971a309d92fb3327ae520"
	if got := hex.EncodeToString(h); got != wantHash {
		t.Errorf("user hash key = %s, want %s", got, wantHash)
	}
	if got := hex.EncodeToString(b); got != wantBlock {
		t.Errorf("user block key = %s, want %s", got, wantBlock)
	}
	seen := map[string]string{}
	for _, purpose := range []string{"user", "flow", "logout"} {
		h, b, err := deriveKeys(testSecret, purpose)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 32 || len(b) != 32 {
			t.Errorf("%s: key lengths %d/%d, want 32/32", purpose, len(h), len(b))
		}
		for kind, k := range map[string][]byte{"hash": h, "block": b} {
			name := purpose + " " + kind
			if prev, dup := seen[string(k)]; dup {
				t.Errorf("%s key equals %s key", name, prev)
			}
			seen[string(k)] = name
		}
	}
}

func TestIdentityConversion(t *testing.T) {
	id := auth.Identity{Backend: "ldap", Subject: "s", Username: "u", Name: "N", Email: "e@x", Groups: []string{"g1", "g2"}}
	u := FromIdentity(id)
	if !u.IssuedAt.IsZero() || !u.ExpiresAt.IsZero() {
		t.Errorf("FromIdentity set times: %+v", u)
	}
	id.Groups[0] = "changed"
	if u.Groups[0] != "g1" {
		t.Error("FromIdentity aliases the identity's groups")
	}
	id.Groups[0] = "g1"
	if back := u.Identity; !reflect.DeepEqual(back, id) {
		t.Errorf("Identity() = %+v, want %+v", back, id)
	}
}

// The decoded-cookie cache must answer exactly what a fresh decode would:
// the same user, expiry still enforced, and nothing for a tampered value.
func TestLoadCacheIsTransparent(t *testing.T) {
	m, clk := newTestManager(t, nil)
	rec := httptest.NewRecorder()
	if err := m.Save(rec, httptest.NewRequest(http.MethodGet, "/", nil), testUser()); err != nil {
		t.Fatal(err)
	}
	c := cookies(rec)["jg"]
	first, err := m.Load(requestWith(c))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.decoded.get(c.Value); !ok {
		t.Fatal("a verified cookie was not cached")
	}
	second, err := m.Load(requestWith(c))
	if err != nil || !reflect.DeepEqual(first, second) {
		t.Fatalf("cached load = %+v, %v; want %+v", second, err, first)
	}
	tampered := *c
	tampered.Value = c.Value[:len(c.Value)-2] + "AA"
	if _, err := m.Load(requestWith(&tampered)); !errors.Is(err, ErrNoSession) {
		t.Errorf("tampered cookie: %v", err)
	}
	if _, ok := m.decoded.get(tampered.Value); ok {
		t.Error("a tampered value was cached")
	}
	clk.t = clk.t.Add(8*time.Hour + time.Second)
	if _, err := m.Load(requestWith(c)); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session served from the cache: %v", err)
	}
}

func TestDecodedCacheIsBounded(t *testing.T) {
	c := newDecodedCache(3)
	for i := 0; i < 10; i++ {
		c.put(fmt.Sprint(i), userWire{Subject: fmt.Sprint(i)})
	}
	if n := len(c.entries); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
}

// TestFlowsStartedInOneSecond: flow expiry has one-second precision, so
// flows started within one second are ordered by their place in the
// Cookie header (browsers send older cookies first); the oldest still goes.
func TestFlowsStartedInOneSecond(t *testing.T) {
	m, _ := newTestManager(t, nil)
	var jar []*http.Cookie
	for i := range MaxFlows + 1 {
		rec := httptest.NewRecorder()
		if err := m.SaveFlow(rec, requestWith(jar...), Flow{Backend: "idp", State: fmt.Sprint("s", i)}); err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.Result().Cookies() {
			jar = slices.DeleteFunc(jar, func(o *http.Cookie) bool { return o.Name == c.Name })
			if c.MaxAge >= 0 {
				jar = append(jar, c)
			}
		}
	}
	for i := range MaxFlows + 1 {
		_, err := m.LoadFlow(requestWith(jar...), fmt.Sprint("s", i))
		if want := i > 0; (err == nil) != want {
			t.Errorf("flow s%d: err %v, want kept %v", i, err, want)
		}
	}
}

// parts counts cookie-pairs the way net/http does for its limit.
func parts(lines []string) int {
	n := 0
	for _, l := range lines {
		n += strings.Count(l, ";") + 1
	}
	return n
}

// FuzzSoleCookie holds soleCookie to net/http's reading of the same header:
// when net/http finds several cookies of the name soleCookie finds no sole
// one, and when both find one they read the same value. (soleCookie may
// find a value net/http drops as invalid; such a value was never verified,
// so it is never a key of the decoded cache.)
func FuzzSoleCookie(f *testing.F) {
	for _, h := range []string{
		"jitsi_gate=abc", "a=1; jitsi_gate=abc; b=2", " jitsi_gate = abc ", `jitsi_gate="abc"`,
		"jitsi_gate=abc; jitsi_gate=def", "jitsi_gate=", "jitsi_gate_flow_x=1", `jitsi_gate="`, "jitsi_gate=a b",
		"jitsi_gate=abc" + strings.Repeat(";", 3000),
	} {
		f.Add(h, "")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = []string{line1}
		if line2 != "" {
			r.Header["Cookie"] = append(r.Header["Cookie"], line2)
		}
		got, ok := soleCookie(r, "jitsi_gate")
		std := r.CookiesNamed("jitsi_gate")
		switch {
		case ok && parts(r.Header["Cookie"]) > maxSoleCookieParts:
			t.Fatalf("soleCookie read a header of more than %d parts", maxSoleCookieParts)
		case len(std) > 1 && ok:
			t.Fatalf("soleCookie found one (%q) where net/http finds %d", got, len(std))
		case len(std) == 1 && ok && got != std[0].Value:
			t.Fatalf("soleCookie read %q, net/http %q", got, std[0].Value)
		case len(std) == 1 && !ok:
			// Allowed (several that net/http partly drops, or a header
			// over the bound), but not for a short header with a single
			// well-formed cookie.
			if line2 == "" && strings.Count(line1, "jitsi_gate") == 1 && parts(r.Header["Cookie"]) <= maxSoleCookieParts {
				t.Fatalf("soleCookie missed the cookie net/http reads as %q", std[0].Value)
			}
		}
	})
}
