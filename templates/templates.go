// Package templates embeds the HTML templates of the pages. web parses
// them at start-up; ui.templates_dir can override them file by file.
package templates

import (
	"embed"
	"io/fs"
	"os"
)

//go:embed *.html
var files embed.FS

// FS returns the embedded templates.
func FS() fs.FS { return files }

// WithOverrides returns the embedded templates with every file that exists
// in dir taking the place of the embedded one of the same name. An empty
// dir means no overrides.
func WithOverrides(dir string) fs.FS {
	if dir == "" {
		return files
	}
	return overlay{top: os.DirFS(dir), base: files}
}

// overlay looks a name up in top first, then in base.
type overlay struct {
	top, base fs.FS
}

func (o overlay) Open(name string) (fs.File, error) {
	if f, err := o.top.Open(name); err == nil {
		return f, nil
	}
	return o.base.Open(name)
}
