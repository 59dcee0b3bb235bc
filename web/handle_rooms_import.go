package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
)

// The timetable import (admins): the file is checked first
// (rooms.Service.Import with DryRun) and the page shows what would change,
// or every bad line with its reason; nothing is written until the admin
// confirms the preview. The confirmation posts the same file back (in a
// hidden field, so the gateway keeps no state between the two steps and
// any replica can take the second one), and it is checked again before it
// is written, all or nothing.

// importPage is the data of rooms_import.html.
type importPage struct {
	Action, Back string
	// Problems are the bad lines (nothing written).
	Problems []importProblem
	// Report is the preview (Applied false) or the result (Applied true).
	Report *rooms.ImportReport
	// CSV is the checked file, carried to the confirmation.
	CSV      string
	FileName string
	// Problem is a translated message about the upload itself.
	Problem string
}

type importProblem struct {
	Line    int
	Column  string
	Message string
}

// maxImportPost bounds the import form: the file twice at most (the
// upload, or the confirmation's hidden field) and the form around it.
const maxImportPost = 2*rooms.MaxImportBytes + 64<<10

func (p *roomPages) importForm() http.Handler {
	return p.handle(isAdmin, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		p.renderImport(w, r, u, http.StatusOK, importPage{})
	})
}

func (p *roomPages) renderImport(w http.ResponseWriter, r *http.Request, u pageUser, status int, data importPage) {
	data.Action = p.site.path("/rooms/import")
	data.Back = p.site.path("/rooms")
	p.site.render(w, r, status, "rooms_import", "rooms.import_heading", &u.user, data)
}

func (p *roomPages) importPost() http.Handler {
	return p.handle(isAdmin, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		tr := p.site.translator(r)
		r.Body = http.MaxBytesReader(w, r.Body, maxImportPost)
		if err := r.ParseMultipartForm(rooms.MaxImportBytes + 1<<20); err != nil {
			var tooBig *http.MaxBytesError
			key := "rooms.import.bad_upload"
			if errors.As(err, &tooBig) {
				key = "rooms.import.too_big"
			}
			p.renderImport(w, r, u, http.StatusBadRequest, importPage{Problem: tr.T(key, rooms.MaxImportBytes>>20)})
			return
		}
		defer func() {
			if r.MultipartForm != nil {
				_ = r.MultipartForm.RemoveAll()
			}
		}()
		apply := r.PostForm.Get("apply") != ""
		var data []byte
		var name string
		if apply {
			data = []byte(r.PostForm.Get("csv"))
			name = r.PostForm.Get("file_name")
		} else {
			file, hdr, err := r.FormFile("file")
			if err != nil {
				p.renderImport(w, r, u, http.StatusBadRequest, importPage{Problem: tr.T("rooms.import.no_file")})
				return
			}
			defer file.Close()
			data, err = io.ReadAll(io.LimitReader(file, rooms.MaxImportBytes+1))
			if err != nil {
				p.renderImport(w, r, u, http.StatusBadRequest, importPage{Problem: tr.T("rooms.import.bad_upload")})
				return
			}
			name = hdr.Filename
		}
		if len(data) > rooms.MaxImportBytes {
			p.renderImport(w, r, u, http.StatusBadRequest, importPage{Problem: tr.T("rooms.import.too_big", rooms.MaxImportBytes>>20)})
			return
		}
		if len(bytes.TrimSpace(data)) == 0 {
			p.renderImport(w, r, u, http.StatusBadRequest, importPage{Problem: tr.T("rooms.import.empty")})
			return
		}
		name = truncate(name, 200)
		report, err := p.rooms.Import(r.Context(), bytes.NewReader(data), rooms.ImportOptions{DryRun: !apply, CreatedBy: u.c.who})
		var ie *rooms.ImportError
		switch {
		case errors.As(err, &ie):
			page := importPage{FileName: name}
			for _, le := range ie.Errors {
				page.Problems = append(page.Problems, importProblem{Line: le.Line, Column: le.Column, Message: le.Message})
			}
			p.log.InfoContext(r.Context(), "pages: timetable import refused", "by", u.c.who, "problems", len(ie.Errors), "apply", apply)
			p.renderImport(w, r, u, http.StatusBadRequest, page)
			return
		case err != nil:
			p.fail(w, r, err)
			return
		}
		if apply {
			p.log.InfoContext(r.Context(), "pages: timetable imported", "by", u.c.who, "via", u.c.via, "rights", u.c.rightsSource,
				"file", name, "created", report.Created, "updated", report.Updated, "unchanged", report.Unchanged)
			p.renderImport(w, r, u, http.StatusOK, importPage{Report: report, FileName: name})
			return
		}
		p.renderImport(w, r, u, http.StatusOK, importPage{Report: report, CSV: string(data), FileName: name})
	})
}

// export sends every room as the CSV the import reads (?excel=1: ';' and
// a byte order mark, as German Excel expects). The file holds the rooms'
// passwords, so only admins get it and nothing caches it.
func (p *roomPages) export() http.Handler {
	return p.handle(isAdmin, func(w http.ResponseWriter, r *http.Request, u pageUser) {
		opts := rooms.ExportOptions{}
		if r.URL.Query().Get("excel") != "" {
			opts.Comma, opts.BOM = ';', true
		}
		var buf bytes.Buffer
		if err := p.rooms.Export(r.Context(), &buf, opts); err != nil {
			p.fail(w, r, err)
			return
		}
		p.log.InfoContext(r.Context(), "pages: rooms exported", "by", u.c.who, "rights", u.c.rightsSource)
		name := fmt.Sprintf("rooms-%s.csv", p.now().Format("2006-01-02"))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	})
}
