package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/i18n"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
)

// pageNames are the templates every installation must have. A
// ui.templates_dir may override any of them file by file.
var pageNames = []string{"welcome", "login", "denied", "closed", "error", "preview", "loggedout", "app",
	"invite", "invites", "calendar", "rooms", "room_form", "room_delete", "rooms_import"}

// langCookie remembers an explicit language choice.
const langCookie = "jitsi_gate_lang"

// pages are the parsed templates, one set per page (layout + page).
type pages struct {
	byName map[string]*template.Template
}

func parsePages(fsys fs.FS) (*pages, error) {
	p := &pages{byName: make(map[string]*template.Template)}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(fsys, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s.html: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

var templateFuncs = template.FuncMap{
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
}

// page is what every template gets. Page-specific values are in Data.
type page struct {
	tr        i18n.Translator
	Lang      string
	Title     string
	UI        UIOptions
	Prefix    string
	User      *session.User
	LangLinks []langLink
	Data      any
}

type langLink struct {
	Lang, Label, URL string
	Current          bool
}

// T translates for the templates: {{.T "key" args...}}.
func (p page) T(key string, args ...any) string { return p.tr.T(key, args...) }

// langLinkParams are the query parameters language links keep: those that
// say where the user is going (see requestTarget and target.Target.Query), plus
// config.* overrides.
var langLinkParams = map[string]bool{"room": true, "state": true, "tenant": true, "app": true, "sso": true}

var languageLabels = map[string]string{"en": "English", "de": "Deutsch"}

// translator picks the language: an explicit ?lang= (render remembers it
// in a cookie), then the cookie, then Accept-Language, then the configured
// default.
func (s *site) translator(r *http.Request) i18n.Translator {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		return i18n.New(l)
	}
	if c, err := r.Cookie(langCookie); err == nil && i18n.Supported(c.Value) {
		return i18n.New(c.Value)
	}
	return i18n.New(i18n.Match(r.Header.Get("Accept-Language"), s.ui.DefaultLanguage))
}

// langLinks are the language switch links. They never contain the request
// path: it is attacker-chosen text (GET /%2Fevil.com has the path
// "//evil.com", which a link would turn into another site). A GET page
// links to "?query" (the same document, resolved by the browser); a
// re-rendered POST links to the login page, a path of our own. The query
// keeps only the target parameters (langLinkParams), encoded, so nothing
// else a link brought along (an OIDC code, a provider's error text) is
// repeated in the page.
func (s *site) langLinks(r *http.Request, current string) []langLink {
	var links []langLink
	all := r.URL.Query()
	kept := url.Values{}
	for k, v := range all {
		if langLinkParams[k] || strings.HasPrefix(k, "config.") {
			kept[k] = v
		}
	}
	for _, l := range i18n.Languages() {
		q := maps.Clone(kept)
		q.Set("lang", l)
		link := "?" + q.Encode()
		if r.Method != http.MethodGet {
			// A re-rendered POST: switch language on the page's GET twin.
			link = s.path("/login") + link
		}
		label := languageLabels[l]
		if label == "" {
			label = l
		}
		links = append(links, langLink{Lang: l, Label: label, URL: link, Current: l == current})
	}
	return links
}

// render writes a page with status. It renders into a buffer first so a
// template error never sends half a page, and sets every header before
// WriteHeader.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name, titleKey string, user *session.User, data any) {
	tr := s.translator(r)
	p := page{
		tr:        tr,
		Lang:      tr.Lang(),
		Title:     tr.T(titleKey),
		UI:        s.ui,
		Prefix:    s.prefix,
		User:      user,
		LangLinks: s.langLinks(r, tr.Lang()),
		Data:      data,
	}
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.ErrorContext(r.Context(), "unknown page template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "template", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		// A page in the language the user picked: keep the choice.
		http.SetCookie(w, &http.Cookie{
			Name: langCookie, Value: l, Path: s.path("/"), MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.publicURL.Scheme == "https",
		})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", tr.Lang())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is the data of error.html.
type errorPage struct {
	Status     int
	Heading    string
	Message    string
	RetryLogin string // a link to start again, when useful
}

// fail renders the error page with a translated message.
func (s *site) fail(w http.ResponseWriter, r *http.Request, status int, retry string, key string, args ...any) {
	tr := s.translator(r)
	headingKey := fmt.Sprintf("error.heading.%d", status)
	if !tr.Has(headingKey) {
		headingKey = "error.heading.500"
	}
	s.render(w, r, status, "error", headingKey, s.currentUser(r), errorPage{
		Status:     status,
		Heading:    tr.T(headingKey),
		Message:    tr.T(key, args...),
		RetryLogin: retry,
	})
}

// currentUser returns the logged-in user for page headers, or nil when
// there is none or the login has ended.
func (s *site) currentUser(r *http.Request) *session.User {
	u, err := s.sessions.Load(r)
	if err != nil {
		return nil
	}
	if _, _, err := s.logins.Check(r.Context(), u.LoginID, u.Identity); errors.Is(err, signin.ErrEnded) {
		return nil
	}
	return &u
}
