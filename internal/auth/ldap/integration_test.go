package ldap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// Integration tests against the real slapd of test/infra (seed:
// test/infra/ldap/seed.ldif.tmpl). They skip when GATEWAY_TEST_LDAP_URL is
// unset and fail in CI. Tests that stop the directory or change entries use
// a private instance.

const weirdUID = `o*(weird)\,user`

// schoolConfig is the OpenLDAP configuration from the package docs, pointed
// at env, over plain ldap://.
func schoolConfig(env testenv.LDAPEnv) Config {
	return Config{
		ID:           "school",
		Label:        "School account",
		URL:          env.URL,
		BindDN:       env.BindDN,
		BindPassword: env.BindPassword,
		Timeout:      5 * time.Second,
		UserSearch: UserSearch{
			BaseDN:         "ou=people," + env.BaseDN,
			Filter:         "(&(objectClass=inetOrgPerson)(uid={username}))",
			IDAttribute:    "uid",
			NameAttribute:  "displayName",
			EmailAttribute: "mail",
		},
		GroupSearch: GroupSearch{
			BaseDN:        "ou=groups," + env.BaseDN,
			Filter:        "(&(objectClass=groupOfNames)(member={dn}))",
			NameAttribute: "cn",
			Nested:        true,
		},
	}
}

// transports are the three ways to reach the directory; every login table
// runs over all of them.
func transports(env testenv.LDAPEnv) []struct {
	name string
	set  func(*Config)
} {
	return []struct {
		name string
		set  func(*Config)
	}{
		{"ldap", func(c *Config) { c.URL = env.URL }},
		{"starttls", func(c *Config) { c.URL, c.StartTLS, c.CAFile = env.URL, true, env.CAFile }},
		{"ldaps", func(c *Config) { c.URL, c.CAFile = env.LDAPSURL, env.CAFile }},
	}
}

type wantKind int

const (
	wantOK wantKind = iota
	wantInvalid
	wantConfigErr
	wantUnavailable
)

func checkErrKind(t *testing.T, err error, want wantKind) {
	t.Helper()
	inv, unav := errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrUnavailable)
	switch want {
	case wantOK:
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	case wantInvalid:
		if !inv || unav {
			t.Fatalf("error = %v, want ErrInvalidCredentials", err)
		}
	case wantUnavailable:
		if !unav || inv {
			t.Fatalf("error = %v, want ErrUnavailable", err)
		}
	case wantConfigErr:
		if err == nil || inv || unav {
			t.Fatalf("error = %v, want a configuration error (neither invalid credentials nor unavailable)", err)
		}
	}
}

func sameGroups(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func TestLogin(t *testing.T) {
	env := testenv.LDAP(t)
	tests := []struct {
		name, user, pass string
		want             wantKind
		subject, display string
		email            string
		groups           []string
	}{
		{"teacher nested staff", "teacher1", "teacher1pass", wantOK, "teacher1", "Teacher One", "teacher1@school.example", []string{"teachers", "staff"}},
		{"teacher2", "teacher2", "teacher2pass", wantOK, "teacher2", "Teacher Two", "teacher2@school.example", []string{"teachers", "staff"}},
		{"student", "student1", "student1pass", wantOK, "student1", "Student One", "student1@school.example", []string{"students"}},
		{"cyclic groups terminate", "student2", "student2pass", wantOK, "student2", "Student Two", "student2@school.example", []string{"students", "cycle-a", "cycle-b"}},
		{"admin direct staff", "admin", "adminpass", wantOK, "admin", "School Admin", "admin@school.example", []string{"admins", "staff"}},
		{"no groups", "guest", "guestpass", wantOK, "guest", "Guest User", "guest@school.example", []string{}},
		{"weird uid and group", weirdUID, "weirdpass", wantOK, weirdUID, "Weird User", "weird@school.example", []string{`math (grade*5)\,a`, "students"}},
		{"spaces trimmed", "  teacher1\t", "teacher1pass", wantOK, "teacher1", "Teacher One", "teacher1@school.example", []string{"teachers", "staff"}},
		{"uid is case-insensitive", "TEACHER1", "teacher1pass", wantOK, "teacher1", "Teacher One", "teacher1@school.example", []string{"teachers", "staff"}},
		// slapd matches compatibility and case variants to the entry; the
		// identity is the entry's uid, never the typed variant.
		{"long s variant", "ſtudent2", "student2pass", wantOK, "student2", "Student Two", "student2@school.example", []string{"students", "cycle-a", "cycle-b"}},
		{"fullwidth variant", "ｓｔｕｄｅｎｔ２", "student2pass", wantOK, "student2", "Student Two", "student2@school.example", []string{"students", "cycle-a", "cycle-b"}},
		{"fullwidth digit variant", "student２", "student2pass", wantOK, "student2", "Student Two", "student2@school.example", []string{"students", "cycle-a", "cycle-b"}},
		{"ligature variant", "ﬅudent2", "student2pass", wantOK, "student2", "Student Two", "student2@school.example", []string{"students", "cycle-a", "cycle-b"}},
		{"dup is unique below ou=people", "dup", "duppass", wantOK, "dup", "Dup Current", "dup@school.example", []string{}},

		{"wrong password", "teacher1", "wrong", wantInvalid, "", "", "", nil},
		{"other user's password", "teacher1", "student1pass", wantInvalid, "", "", "", nil},
		{"password is case-sensitive", "teacher1", "TEACHER1PASS", wantInvalid, "", "", "", nil},
		{"unknown user", "nobody", "nobodypass", wantInvalid, "", "", "", nil},
		{"empty password", "teacher1", "", wantInvalid, "", "", "", nil},
		{"empty username", "", "teacher1pass", wantInvalid, "", "", "", nil},
		{"weird user wrong password", weirdUID, "wrong", wantInvalid, "", "", "", nil},
		{"weird user double-escaped", `o\2a\28weird\29\5c,user`, "weirdpass", wantInvalid, "", "", "", nil},

		// Injection: with the real password of teacher1 (or anyone) these
		// must never log in, and never as somebody else.
		{"inject star", "*", "teacher1pass", wantInvalid, "", "", "", nil},
		{"inject close-open", "*)(uid=*", "teacher1pass", wantInvalid, "", "", "", nil},
		{"inject or", "teacher1)(|(uid=*", "teacher1pass", wantInvalid, "", "", "", nil},
		{"inject backslash", `\`, "teacher1pass", wantInvalid, "", "", "", nil},
		{"inject prefix wildcard", "teacher*", "teacher1pass", wantInvalid, "", "", "", nil},
		{"inject objectClass", "*)(objectClass=*", "adminpass", wantInvalid, "", "", "", nil},
		{"inject full filter", "(uid=admin)", "adminpass", wantInvalid, "", "", "", nil},
		{"inject NUL", "admin\x00", "adminpass", wantInvalid, "", "", "", nil},
		{"inject weird wildcard", "o*", "weirdpass", wantInvalid, "", "", "", nil},
	}
	for _, tr := range transports(env) {
		t.Run(tr.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			tr.set(&cfg)
			a := newAuth(t, cfg)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					id, err := a.Login(context.Background(), tt.user, tt.pass)
					checkErrKind(t, err, tt.want)
					if tt.want != wantOK {
						if id.Subject != "" || id.Username != "" || len(id.Groups) != 0 {
							t.Fatalf("failed login returned an identity: %+v", id)
						}
						return
					}
					// uid is both the id and the username attribute here.
					want := auth.Identity{Backend: "school", Subject: tt.subject, Username: tt.subject,
						Name: tt.display, Email: tt.email}
					got := id
					got.Groups = nil
					if !reflect.DeepEqual(got, want) {
						t.Errorf("identity = %+v\nwant       %+v", got, want)
					}
					if !sameGroups(id.Groups, tt.groups) {
						t.Errorf("groups = %q, want %q", id.Groups, tt.groups)
					}
				})
			}
		})
	}
}

// TestGroupModes covers the other ways to find groups on the same users.
func TestGroupModes(t *testing.T) {
	env := testenv.LDAP(t)
	modes := []struct {
		name string
		set  func(*Config)
		want map[string][]string // user -> groups
	}{
		{"memberOf only (direct membership)", func(c *Config) {
			c.GroupSearch = GroupSearch{}
			c.MemberOfAttribute = "memberOf"
		}, map[string][]string{
			"teacher1": {"teachers"},
			"student2": {"students", "cycle-a"},
			"admin":    {"admins", "staff"},
			weirdUID:   {`math (grade*5)\,a`},
			"guest":    {},
		}},
		{"memberOf plus nested walk", func(c *Config) { c.MemberOfAttribute = "memberOf" },
			map[string][]string{
				"teacher1": {"teachers", "staff"},
				"student2": {"students", "cycle-a", "cycle-b"},
				weirdUID:   {`math (grade*5)\,a`, "students"},
			}},
		{"group search without nesting", func(c *Config) { c.GroupSearch.Nested = false },
			map[string][]string{
				"teacher1": {"teachers"},
				"student2": {"students", "cycle-a"},
				weirdUID:   {`math (grade*5)\,a`},
			}},
		// The Active Directory in-chain rule is a valid filter; OpenLDAP
		// does not implement it and matches nothing (documented).
		{"AD matching rule on OpenLDAP", func(c *Config) {
			c.GroupSearch.Filter = "(member:1.2.840.113556.1.4.1941:={dn})"
			c.GroupSearch.Nested = false
		}, map[string][]string{"teacher1": {}}},
		{"anonymous service", func(c *Config) { c.BindDN, c.BindPassword = "", "" },
			map[string][]string{"teacher1": {"teachers", "staff"}, "student2": {"students", "cycle-a", "cycle-b"}}},
		{"subject falls back to DN, name to cn", func(c *Config) {
			c.UserSearch.IDAttribute = ""
			c.UserSearch.NameAttribute = "nonexistentAttr"
		}, map[string][]string{"admin": {"admins", "staff"}}},
	}
	passwords := map[string]string{weirdUID: "weirdpass"}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			m.set(&cfg)
			a := newAuth(t, cfg)
			for user, want := range m.want {
				pass := passwords[user]
				if pass == "" {
					pass = user + "pass"
				}
				id, err := a.Login(context.Background(), user, pass)
				if err != nil {
					t.Fatalf("Login(%q): %v", user, err)
				}
				if !sameGroups(id.Groups, want) {
					t.Errorf("%s: groups = %q, want %q", user, id.Groups, want)
				}
				if cfg.UserSearch.IDAttribute == "" {
					if wantDN := "uid=" + user + ",ou=people," + env.BaseDN; id.Subject != wantDN || id.Name != "School Admin" {
						t.Errorf("subject/name = %q/%q, want %q/School Admin", id.Subject, id.Name, wantDN)
					}
				}
			}
		})
	}
}

func TestConfigurationErrors(t *testing.T) {
	env := testenv.LDAP(t)
	tests := []struct {
		name       string
		set        func(*Config)
		user, pass string
		want       []string // substrings of the error
		ambiguous  bool
	}{
		{"duplicate uid", func(c *Config) { c.UserSearch.BaseDN = env.BaseDN }, "dup", "duppass",
			[]string{"uid=dup,ou=people,dc=school,dc=example", "uid=dup,ou=alumni,dc=school,dc=example"}, true},
		{"duplicate uid, wrong password too", func(c *Config) { c.UserSearch.BaseDN = env.BaseDN }, "dup", "nope",
			[]string{"more than one entry"}, true},
		{"filter matching everyone", func(c *Config) {
			c.UserSearch.Filter = "(|(objectClass=inetOrgPerson)(uid={username}))"
		}, "teacher1", "teacher1pass", []string{"more than one entry"}, true},
		{"user base missing", func(c *Config) { c.UserSearch.BaseDN = "ou=nope," + env.BaseDN }, "teacher1", "teacher1pass",
			[]string{"search user", "No Such Object"}, false},
		{"group base missing", func(c *Config) { c.GroupSearch.BaseDN = "ou=nope," + env.BaseDN }, "teacher1", "teacher1pass",
			[]string{"search groups", "No Such Object"}, false},
		{"wrong service password", func(c *Config) { c.BindPassword = "wrong" }, "teacher1", "teacher1pass",
			[]string{"service account", "wrong bind_dn or bind_password"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			tt.set(&cfg)
			a := newAuth(t, cfg)
			id, err := a.Login(context.Background(), tt.user, tt.pass)
			checkErrKind(t, err, wantConfigErr)
			if id.Subject != "" {
				t.Errorf("identity returned with a configuration error: %+v", id)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if got := errors.Is(err, errAmbiguousUser); got != tt.ambiguous {
				t.Errorf("errors.Is(err, errAmbiguousUser) = %v, want %v", got, tt.ambiguous)
			}
		})
	}
}

func TestTLSAgainstSlapd(t *testing.T) {
	env := testenv.LDAP(t)
	otherCA := writeCAFile(t, newTestCA(t))
	ldapsAddr := strings.TrimPrefix(env.LDAPSURL, "ldaps://")
	plainAddr := strings.TrimPrefix(env.URL, "ldap://")
	tests := []struct {
		name   string
		set    func(*Config)
		prefix string // "" = login works
	}{
		{"ldaps wrong CA", func(c *Config) { c.URL, c.CAFile = env.LDAPSURL, otherCA },
			"ldap: TLS handshake with " + ldapsAddr + " failed: "},
		{"starttls wrong CA", func(c *Config) { c.URL, c.StartTLS, c.CAFile = env.URL, true, otherCA },
			"ldap: TLS handshake with " + plainAddr + " (StartTLS) failed: "},
		{"ldaps system roots", func(c *Config) { c.URL = env.LDAPSURL },
			"ldap: TLS handshake with " + ldapsAddr + " failed: "},
		{"ldaps insecure skip verify", func(c *Config) { c.URL, c.CAFile, c.InsecureSkipVerify = env.LDAPSURL, otherCA, true }, ""},
		{"starttls insecure skip verify", func(c *Config) { c.URL, c.StartTLS, c.InsecureSkipVerify = env.URL, true, true }, ""},
		{"ldaps via localhost name", func(c *Config) {
			c.URL, c.CAFile = strings.Replace(env.LDAPSURL, "127.0.0.1", "localhost", 1), env.CAFile
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			tt.set(&cfg)
			a := newAuth(t, cfg)
			id, err := a.Login(context.Background(), "teacher1", "teacher1pass")
			if tt.prefix == "" {
				checkErrKind(t, err, wantOK)
				if id.Subject != "teacher1" {
					t.Errorf("subject = %q", id.Subject)
				}
				return
			}
			checkErrKind(t, err, wantUnavailable)
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.prefix) || !strings.Contains(msg, "x509: certificate signed by unknown authority") {
				t.Errorf("error %q\nwant prefix %q and the x509 reason", msg, tt.prefix)
			}
			if err := a.Check(context.Background()); !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("Check = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	env := testenv.LDAP(t)
	groupsDN := "ou=groups," + env.BaseDN
	tests := []struct {
		name   string
		set    func(*Config)
		user   string
		groups []GroupFound
	}{
		{"group search nested", func(*Config) {}, "teacher1", []GroupFound{
			{Name: "teachers", DN: "cn=teachers," + groupsDN, Via: "direct"},
			{Name: "staff", DN: "cn=staff," + groupsDN, Via: "nested via cn=teachers," + groupsDN},
		}},
		{"memberOf then nested", func(c *Config) { c.MemberOfAttribute = "memberOf" }, "teacher1", []GroupFound{
			{Name: "teachers", DN: "cn=teachers," + groupsDN, Via: "memberOf"},
			{Name: "staff", DN: "cn=staff," + groupsDN, Via: "nested via cn=teachers," + groupsDN},
		}},
		{"cycle", func(*Config) {}, "student2", []GroupFound{
			{Name: "students", DN: "cn=students," + groupsDN, Via: "direct"},
			{Name: "cycle-a", DN: "cn=cycle-a," + groupsDN, Via: "direct"},
			{Name: "cycle-b", DN: "cn=cycle-b," + groupsDN, Via: "nested via cn=cycle-a," + groupsDN},
		}},
		{"weird", func(*Config) {}, weirdUID, []GroupFound{
			{Name: `math (grade*5)\,a`, DN: `cn=math (grade*5)\5C\2Ca,` + groupsDN, Via: "direct"},
			{Name: "students", DN: "cn=students," + groupsDN, Via: `nested via cn=math (grade*5)\5C\2Ca,` + groupsDN},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			tt.set(&cfg)
			a := newAuth(t, cfg)
			exp, err := a.Explain(context.Background(), tt.user)
			if err != nil {
				t.Fatalf("Explain: %v", err)
			}
			if len(exp.Groups) != len(tt.groups) {
				t.Fatalf("groups = %+v\nwant %+v", exp.Groups, tt.groups)
			}
			for i, g := range exp.Groups {
				w := tt.groups[i]
				if g.Name != w.Name || !strings.EqualFold(g.DN, w.DN) || !strings.EqualFold(g.Via, w.Via) {
					t.Errorf("group %d = %+v, want %+v", i, g, w)
				}
			}
			// Explain and Login agree on the identity.
			pass := tt.user + "pass"
			if tt.user == weirdUID {
				pass = "weirdpass"
			}
			id, err := a.Login(context.Background(), tt.user, pass)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(exp.Identity.Groups, id.Groups) || exp.Identity.Subject != id.Subject ||
				exp.Identity.Name != id.Name || exp.Identity.Email != id.Email {
				t.Errorf("Explain identity %+v != Login identity %+v", exp.Identity, id)
			}
		})
	}

	t.Run("attributes", func(t *testing.T) {
		cfg := schoolConfig(env)
		cfg.MemberOfAttribute = "memberOf"
		a := newAuth(t, cfg)
		exp, err := a.Explain(context.Background(), "teacher1")
		if err != nil {
			t.Fatal(err)
		}
		if exp.DN != "uid=teacher1,ou=people,"+env.BaseDN {
			t.Errorf("DN = %q", exp.DN)
		}
		checks := map[string]string{"uid": "teacher1", "mail": "teacher1@school.example",
			"displayName": "Teacher One", "memberOf": "cn=teachers," + groupsDN}
		for attr, want := range checks {
			if got := exp.Attributes[attr]; !slices.Contains(got, want) {
				t.Errorf("Attributes[%s] = %q, want it to contain %q", attr, got, want)
			}
		}
		if _, ok := exp.Attributes["userPassword"]; ok {
			t.Error("Explain shows userPassword (the service account must not read it)")
		}
	})
	// The rootdn may read userPassword; Explain must still neither ask for
	// it nor return it.
	t.Run("no password hashes with a privileged bind", func(t *testing.T) {
		if env.AdminDN == "" {
			t.Skip("GATEWAY_TEST_LDAP_ADMIN_DN not set")
		}
		cfg := schoolConfig(env)
		cfg.BindDN, cfg.BindPassword = env.AdminDN, env.AdminPassword
		a := newAuth(t, cfg)
		// Prove the bind can read hashes, so the check below can fail.
		se, err := open(context.Background(), a.s)
		if err != nil {
			t.Fatal(err)
		}
		defer se.close()
		if err := se.bindService(); err != nil {
			t.Fatal(err)
		}
		res, err := se.conn.Search(goldap.NewSearchRequest("uid=teacher1,ou=people,"+env.BaseDN, goldap.ScopeBaseObject,
			goldap.NeverDerefAliases, 1, 5, false, "(objectClass=*)", []string{"*"}, nil))
		if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("userPassword") == "" {
			t.Fatalf("the admin bind cannot read userPassword (%v); this test would prove nothing", err)
		}

		exp, err := a.Explain(context.Background(), "teacher1")
		if err != nil {
			t.Fatal(err)
		}
		for name, vals := range exp.Attributes {
			if IsSecretAttribute(name) || strings.Contains(strings.Join(vals, " "), "{SSHA}") {
				t.Errorf("Explain returns %s: %q", name, vals)
			}
		}
		if !slices.Contains(exp.Attributes["uid"], "teacher1") {
			t.Errorf("Explain attributes lack uid: %v", exp.Attributes)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		a := newAuth(t, schoolConfig(env))
		if _, err := a.Explain(context.Background(), "nobody"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Explain(nobody) = %v, want ErrInvalidCredentials", err)
		}
		if _, err := a.Explain(context.Background(), "*"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Explain(*) = %v, want ErrInvalidCredentials", err)
		}
	})
}

// TestUsernameAttribute: the username comes from the configured (or
// derived) attribute of the entry; an entry without it is refused.
func TestUsernameAttribute(t *testing.T) {
	env := testenv.LDAP(t)
	tests := []struct {
		name, attr, want string
		kind             wantKind
	}{
		{"derived from the filter", "", "student2", wantOK},
		{"explicit uid", "uid", "student2", wantOK},
		{"mail as the username", "mail", "student2@school.example", wantOK},
		{"attribute missing on the entry", "employeeType", "", wantConfigErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			cfg.UserSearch.UsernameAttribute = tt.attr
			id, err := newAuth(t, cfg).Login(context.Background(), "ＳＴＵＤＥＮＴ２", "student2pass")
			checkErrKind(t, err, tt.kind)
			if id.Username != tt.want {
				t.Errorf("Username = %q, want %q", id.Username, tt.want)
			}
		})
	}
}

// TestRefreshFindsTheUserAgain: Refresh looks a signed-in user up by the
// username the login read from username_attribute, also when that is not
// the attribute the filter compares (the login is typed as uid, the
// username is the mail address), and an unknown username is gone.
func TestRefreshFindsTheUserAgain(t *testing.T) {
	env := testenv.LDAP(t)
	for _, attr := range []string{"", "mail"} {
		t.Run("username_attribute="+attr, func(t *testing.T) {
			cfg := schoolConfig(env)
			cfg.UserSearch.UsernameAttribute = attr
			a := newAuth(t, cfg)
			id, err := a.Login(context.Background(), "student2", "student2pass")
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := a.Refresh(context.Background(), id)
			if err != nil {
				t.Fatalf("Refresh(%q): %v", id.Username, err)
			}
			if fresh.Subject != id.Subject || fresh.Username != id.Username || !sameGroups(fresh.Groups, id.Groups) {
				t.Errorf("Refresh = %+v, want the login's identity %+v", fresh, id)
			}
			gone := id
			gone.Username = "nobody-" + id.Username
			if _, err := a.Refresh(context.Background(), gone); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("Refresh of an unknown user: %v, want ErrInvalidCredentials", err)
			}
		})
	}
}

func TestReadyAgainstSlapd(t *testing.T) {
	env := testenv.LDAP(t)
	if err := newAuth(t, schoolConfig(env)).Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	cfg := schoolConfig(env)
	cfg.BindPassword = "wrong"
	if err := newAuth(t, cfg).Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "wrong bind_dn or bind_password") {
		t.Errorf("Ready with a wrong service password = %v", err)
	}
}

func TestCheck(t *testing.T) {
	env := testenv.LDAP(t)
	tests := []struct {
		name string
		set  func(*Config)
		want string // "" = ok
	}{
		{"ok", func(*Config) {}, ""},
		{"ok ldaps", func(c *Config) { c.URL, c.CAFile = env.LDAPSURL, env.CAFile }, ""},
		{"ok anonymous", func(c *Config) { c.BindDN, c.BindPassword = "", "" }, ""},
		{"wrong bind password", func(c *Config) { c.BindPassword = "nope" }, "wrong bind_dn or bind_password"},
		{"user base missing", func(c *Config) { c.UserSearch.BaseDN = "ou=nope," + env.BaseDN }, `user_search.base_dn "ou=nope,dc=school,dc=example" does not exist`},
		{"group base missing", func(c *Config) { c.GroupSearch.BaseDN = "ou=nope," + env.BaseDN }, `group_search.base_dn "ou=nope,dc=school,dc=example" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			tt.set(&cfg)
			err := newAuth(t, cfg).Check(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want error containing %q", err, tt.want)
			}
			checkErrKind(t, err, wantConfigErr)
		})
	}
}

// TestConcurrentLogins: one Authenticator, many goroutines, mixed users;
// nobody ever gets another user's identity (run with -race).
func TestConcurrentLogins(t *testing.T) {
	env := testenv.LDAP(t)
	a := newAuth(t, schoolConfig(env))
	users := []struct {
		user, pass string
		groups     []string
	}{
		{"teacher1", "teacher1pass", []string{"teachers", "staff"}},
		{"student1", "student1pass", []string{"students"}},
		{"admin", "adminpass", []string{"admins", "staff"}},
		{"student2", "student2pass", []string{"students", "cycle-a", "cycle-b"}},
		{"student1", "wrong", nil},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16*10)
	for g := range 16 {
		wg.Go(func() {
			for i := range 10 {
				u := users[(g+i)%len(users)]
				id, err := a.Login(context.Background(), u.user, u.pass)
				switch {
				case u.groups == nil && !errors.Is(err, auth.ErrInvalidCredentials):
					errs <- fmt.Errorf("%s with wrong password: %v", u.user, err)
				case u.groups != nil && err != nil:
					errs <- fmt.Errorf("%s: %v", u.user, err)
				case u.groups != nil && (id.Subject != u.user || !sameGroups(id.Groups, u.groups)):
					errs <- fmt.Errorf("%s got identity %+v", u.user, id)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoLeaksAgainstSlapd: many logins, good and failing, leave no
// goroutine and no open connection behind.
func TestNoLeaksAgainstSlapd(t *testing.T) {
	env := testenv.LDAP(t)
	good := newAuth(t, schoolConfig(env))
	tlsCfg := schoolConfig(env)
	tlsCfg.URL, tlsCfg.CAFile = env.LDAPSURL, env.CAFile
	goodTLS := newAuth(t, tlsCfg)
	dupCfg := schoolConfig(env)
	dupCfg.UserSearch.BaseDN = env.BaseDN
	dup := newAuth(t, dupCfg)
	badCA := tlsCfg
	badCA.CAFile = writeCAFile(t, newTestCA(t))
	wrongCA := newAuth(t, badCA)
	ctx := context.Background()
	run := func() {
		for range 25 {
			good.Login(ctx, "teacher1", "teacher1pass")
			good.Login(ctx, "teacher1", "wrong")
			good.Login(ctx, "nobody", "x")
			good.Login(ctx, "*)(uid=*", "x")
			goodTLS.Login(ctx, "student2", "student2pass")
			dup.Login(ctx, "dup", "duppass")
			wrongCA.Login(ctx, "teacher1", "teacher1pass")
			good.Explain(ctx, "admin")
			good.Check(ctx)
		}
	}
	run()
	g0, f0 := runtime.NumGoroutine(), openFDs(t)
	run()
	waitNoLeak(t, g0, f0)
}

// TestDirectoryDownAndBack stops a private slapd under a live
// Authenticator: logins fail fast with ErrUnavailable (not after the
// timeout, not as bad credentials) and work again once it is back.
func TestDirectoryDownAndBack(t *testing.T) {
	env := testenv.PrivateLDAP(t)
	for _, tr := range transports(env) {
		t.Run(tr.name, func(t *testing.T) {
			cfg := schoolConfig(env)
			tr.set(&cfg)
			cfg.Timeout = 3 * time.Second
			a := newAuth(t, cfg)
			ctx := context.Background()
			login := func() (auth.Identity, error) { return a.Login(ctx, "teacher1", "teacher1pass") }

			if _, err := login(); err != nil {
				t.Fatalf("before stop: %v", err)
			}
			env.Stop(t)
			start := time.Now()
			_, err := login()
			checkErrKind(t, err, wantUnavailable)
			if !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not say connection refused", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("a refused connection took %s", d)
			}
			if err := a.Check(ctx); !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("Check while down = %v", err)
			}
			env.Start(t)
			id, err := login()
			if err != nil {
				t.Fatalf("after restart: %v", err)
			}
			if !sameGroups(id.Groups, []string{"teachers", "staff"}) {
				t.Errorf("after restart groups = %q", id.Groups)
			}
		})
	}
}

// TestPasswordSentAsIs changes a password to one full of filter and DN
// special characters: it must work exactly as typed and not escaped.
func TestPasswordSentAsIs(t *testing.T) {
	env := testenv.PrivateLDAP(t)
	const dn = "uid=guest,ou=people,dc=school,dc=example"
	const pw = `p*(a)\ss, wörd=+;<>"#`
	admin, err := goldap.DialURL(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Bind(env.AdminDN, env.AdminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PasswordModify(goldap.NewPasswordModifyRequest(dn, "", pw)); err != nil {
		t.Fatal(err)
	}
	a := newAuth(t, schoolConfig(env))
	tests := []struct {
		pass string
		want wantKind
	}{
		{pw, wantOK},
		{goldap.EscapeFilter(pw), wantInvalid},
		{goldap.EscapeDN(pw), wantInvalid},
		{"guestpass", wantInvalid},
		{pw + " ", wantInvalid}, // passwords are not trimmed
	}
	for _, tt := range tests {
		id, err := a.Login(context.Background(), "guest", tt.pass)
		checkErrKind(t, err, tt.want)
		if tt.want == wantOK && id.Subject != "guest" {
			t.Errorf("subject = %q", id.Subject)
		}
	}
}

// TestLogging: the admin can tell the failure reasons apart in the log,
// and no password ever reaches it.
func TestLogging(t *testing.T) {
	env := testenv.LDAP(t)
	const secret = "S3cret-Never-Logged"
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := schoolConfig(env)
	dupCfg := cfg
	dupCfg.UserSearch.BaseDN = env.BaseDN
	downCfg := cfg
	downCfg.URL = "ldap://" + closedPort(t)
	mk := func(c Config) *Authenticator {
		a, err := New(c, logger)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name string
		a    *Authenticator
		user string
		want []string // substrings of the new log output
	}{
		{"unknown user", mk(cfg), "nobody", []string{"level=INFO", `msg="ldap unknown user"`, "backend=school", "username=nobody"}},
		{"wrong password", mk(cfg), "teacher1", []string{"level=INFO", `msg="ldap wrong password"`, `dn="uid=teacher1,ou=people,dc=school,dc=example"`}},
		{"ambiguous", mk(dupCfg), "dup", []string{"level=ERROR", "matched several entries", "uid=dup,ou=people,dc=school,dc=example", "uid=dup,ou=alumni,dc=school,dc=example"}},
		{"unavailable", mk(downCfg), "teacher1", []string{"level=WARN", `msg="ldap directory unavailable"`, "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			if _, err := tt.a.Login(context.Background(), tt.user, secret); err == nil {
				t.Fatal("login succeeded")
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("log does not contain %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, secret) {
				t.Errorf("the password is in the log:\n%s", out)
			}
		})
	}
	buf.Reset()
	if _, err := mk(cfg).Login(context.Background(), "teacher1", "teacher1pass"); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "teacher1pass") || strings.Contains(out, env.BindPassword) {
		t.Errorf("a password is in the log:\n%s", out)
	}
}
