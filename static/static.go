// Package static embeds the CSS, JavaScript and images of the pages. They
// are our own files: the pages load nothing from other origins.
package static

import (
	"embed"
	"io/fs"
)

//go:embed css js img
var files embed.FS

// FS returns the embedded static files (paths like "css/style.css").
func FS() fs.FS { return files }
