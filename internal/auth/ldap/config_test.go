package ldap

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// validConfig is a minimal configuration New accepts.
func validConfig() Config {
	return Config{
		ID:           "school",
		URL:          "ldap://127.0.0.1:3389",
		BindDN:       "cn=gateway,ou=service,dc=school,dc=example",
		BindPassword: "gatewaypass",
		UserSearch: UserSearch{
			BaseDN: "ou=people,dc=school,dc=example",
			Filter: "(&(objectClass=inetOrgPerson)(uid={username}))",
		},
		GroupSearch: GroupSearch{
			BaseDN: "ou=groups,dc=school,dc=example",
			Filter: "(&(objectClass=groupOfNames)(member={dn}))",
			Nested: true,
		},
	}
}

func TestNewValidation(t *testing.T) {
	caFile := writeCAFile(t, newTestCA(t))
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr []string // substrings; empty = valid
	}{
		{"valid", func(*Config) {}, nil},
		{"valid anonymous", func(c *Config) { c.BindDN, c.BindPassword = "", "" }, nil},
		{"valid ldaps with CA", func(c *Config) { c.URL = "ldaps://ldap.example.org"; c.CAFile = caFile }, nil},
		{"valid starttls insecure", func(c *Config) { c.StartTLS = true; c.InsecureSkipVerify = true }, nil},
		{"valid memberOf only", func(c *Config) { c.GroupSearch = GroupSearch{}; c.MemberOfAttribute = "memberOf" }, nil},
		{"valid AD", func(c *Config) {
			c.UserSearch.Filter = "(|(sAMAccountName={username})(userPrincipalName={username}))"
			c.GroupSearch.Filter = "(member:1.2.840.113556.1.4.1941:={dn})"
		}, nil},
		{"missing id", func(c *Config) { c.ID = "" }, []string{"id is required"}},
		{"missing url", func(c *Config) { c.URL = "" }, []string{"url is required"}},
		{"http url", func(c *Config) { c.URL = "http://ldap.example.org" }, []string{"scheme must be ldap or ldaps"}},
		{"url without host", func(c *Config) { c.URL = "ldap://" }, []string{"host is missing"}},
		{"url with base dn", func(c *Config) { c.URL = "ldap://h/dc=example" }, []string{"only scheme, host and port"}},
		{"ldaps with starttls", func(c *Config) { c.URL = "ldaps://h"; c.StartTLS = true }, []string{"start_tls cannot be combined"}},
		{"ca_file without tls", func(c *Config) { c.CAFile = caFile }, []string{"need ldaps:// or start_tls"}},
		{"insecure without tls", func(c *Config) { c.InsecureSkipVerify = true }, []string{"need ldaps:// or start_tls"}},
		{"ca_file missing", func(c *Config) { c.StartTLS = true; c.CAFile = "/nonexistent/ca.pem" },
			[]string{"ca_file", "no such file"}},
		{"bind dn without password", func(c *Config) { c.BindPassword = "" }, []string{"bind_password is empty"}},
		{"password without bind dn", func(c *Config) { c.BindDN = "" }, []string{"bind_dn is empty"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout must be positive"}},
		{"missing user base", func(c *Config) { c.UserSearch.BaseDN = "" }, []string{"user_search.base_dn is required"}},
		{"bad user base", func(c *Config) { c.UserSearch.BaseDN = "ou=people,,dc" }, []string{"user_search.base_dn"}},
		{"missing user filter", func(c *Config) { c.UserSearch.Filter = "" }, []string{"user_search.filter is required"}},
		{"user filter without placeholder", func(c *Config) { c.UserSearch.Filter = "(uid=x)" },
			[]string{"must contain {username}"}},
		{"user filter syntax", func(c *Config) { c.UserSearch.Filter = "(&(uid={username})" }, []string{"user_search.filter"}},
		{"group filter without placeholder", func(c *Config) { c.GroupSearch.Filter = "(member={username})" },
			[]string{"must contain {dn}"}},
		{"group filter without base", func(c *Config) { c.GroupSearch.BaseDN = "" }, []string{"need group_search.base_dn"}},
		{"nested without base", func(c *Config) { c.GroupSearch = GroupSearch{Nested: true} }, []string{"need group_search.base_dn"}},
		{"username attribute not derivable", func(c *Config) { c.UserSearch.Filter = "(cn=*{username}*)" },
			[]string{"user_search.username_attribute is required"}},
		{"username attribute given for an odd filter", func(c *Config) {
			c.UserSearch.Filter = "(cn=*{username}*)"
			c.UserSearch.UsernameAttribute = "uid"
		}, nil},
		{"password attribute as username", func(c *Config) { c.UserSearch.UsernameAttribute = "userPassword" },
			[]string{"user_search.username_attribute \"userPassword\" holds password material"}},
		{"password attribute as name", func(c *Config) { c.UserSearch.NameAttribute = "unicodePwd" },
			[]string{"user_search.name_attribute \"unicodePwd\" holds password material"}},
		{"several problems at once", func(c *Config) {
			c.URL = "http://x"
			c.BindPassword = ""
			c.UserSearch.Filter = "(uid=x)"
		}, []string{"scheme must be ldap", "bind_password is empty", "must contain {username}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.mutate(&cfg)
			a, err := New(cfg, nil)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: unexpected error: %v", err)
				}
				if a == nil {
					t.Fatal("New returned nil without error")
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted an invalid config; want error containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		url, wantAddr string
		wantTLS       bool
	}{
		{"ldap://ldap.example.org", "ldap.example.org:389", false},
		{"ldaps://ldap.example.org", "ldap.example.org:636", true},
		{"ldap://127.0.0.1:3389", "127.0.0.1:3389", false},
		{"ldaps://[::1]:3636/", "[::1]:3636", true},
	}
	for _, tt := range tests {
		cfg := validConfig()
		cfg.URL = tt.url
		cfg.GroupSearch.NameAttribute = ""
		a, err := New(cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if a.s.addr != tt.wantAddr {
			t.Errorf("%s: addr = %q, want %q", tt.url, a.s.addr, tt.wantAddr)
		}
		if (a.s.tls != nil) != tt.wantTLS {
			t.Errorf("%s: tls config present = %v, want %v", tt.url, a.s.tls != nil, tt.wantTLS)
		}
		if a.ID() != "school" || a.Label() != "school" {
			t.Errorf("ID/Label = %q/%q, want school/school (label defaults to id)", a.ID(), a.Label())
		}
		if a.s.Timeout != DefaultTimeout {
			t.Errorf("Timeout = %s, want default %s", a.s.Timeout, DefaultTimeout)
		}
		if a.s.GroupSearch.NameAttribute != "cn" {
			t.Errorf("group name attribute = %q, want cn", a.s.GroupSearch.NameAttribute)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeCAFile(t, newTestCA(t))
	notPEM := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(notPEM, []byte("this is not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, caFile string
		wantErr           string
		wantServerName    string
	}{
		{"ca ok, ip host", "ldaps://127.0.0.1:3636", good, "", "127.0.0.1"},
		{"ca ok, dns host", "ldaps://ldap.example.org:636", good, "", "ldap.example.org"},
		{"system roots", "ldaps://ldap.example.org", "", "", "ldap.example.org"},
		{"ca missing", "ldaps://127.0.0.1", filepath.Join(dir, "missing.pem"), "no such file", ""},
		{"ca not pem", "ldaps://127.0.0.1", notPEM, "no PEM certificate found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.URL, cfg.CAFile = tt.url, tt.caFile
			a, err := New(cfg, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc := a.s.tls
			if tc.ServerName != tt.wantServerName {
				t.Errorf("ServerName = %q, want %q", tc.ServerName, tt.wantServerName)
			}
			if (tc.RootCAs != nil) != (tt.caFile != "") {
				t.Errorf("RootCAs set = %v, want %v", tc.RootCAs != nil, tt.caFile != "")
			}
			if tc.InsecureSkipVerify {
				t.Error("InsecureSkipVerify is on without being asked for")
			}
		})
	}
}

func TestUsernameAttributeFromFilter(t *testing.T) {
	tests := []struct{ filter, want string }{
		{"(uid={username})", "uid"},
		{"(&(objectClass=inetOrgPerson)(uid={username}))", "uid"},
		{"(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))", "sAMAccountName"},
		{"(|(sAMAccountName={username})(userPrincipalName={username}))", "sAMAccountName"},
		{"(&(objectClass=person)( uid = {username} ))", "uid"},
		{"(cn=*{username}*)", ""},
		{"(uid={username}x)", ""},
	}
	for _, tt := range tests {
		if got := usernameAttributeOf(tt.filter); got != tt.want {
			t.Errorf("usernameAttributeOf(%q) = %q, want %q", tt.filter, got, tt.want)
		}
	}
	a, err := New(validConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.s.UserSearch.UsernameAttribute != "uid" || !slices.Contains(a.userAttrs, "uid") {
		t.Errorf("derived username attribute %q, requested %v; want uid in both", a.s.UserSearch.UsernameAttribute, a.userAttrs)
	}
}

func TestIsSecretAttribute(t *testing.T) {
	secret := []string{"userPassword", "USERPASSWORD", "userPassword;binary", "unicodePwd", "sambaNTPassword", "sambaLMPassword",
		"ntPwdHistory", "lmPwdHistory", "supplementalCredentials", "dBCSPwd", "authPassword", "ms-Mcs-AdmPwd",
		"msLAPS-Password", "krbPrincipalKey", "pwdHistory"}
	public := []string{"uid", "cn", "mail", "memberOf", "displayName", "objectGUID", "sAMAccountName", "passportNumber"}
	for _, n := range secret {
		if !IsSecretAttribute(n) {
			t.Errorf("IsSecretAttribute(%q) = false, want true", n)
		}
	}
	for _, n := range public {
		if IsSecretAttribute(n) {
			t.Errorf("IsSecretAttribute(%q) = true, want false", n)
		}
	}
	for _, n := range ExplainAttributes {
		if IsSecretAttribute(n) {
			t.Errorf("ExplainAttributes asks for the secret %q", n)
		}
	}
}
