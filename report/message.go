package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wneessen/go-mail"
)

// Compose builds the MIME message of a rendered report for one recipient:
//
//	multipart/mixed
//	├── multipart/related
//	│   ├── multipart/alternative
//	│   │   ├── text/plain   (Rendered.Text)
//	│   │   └── text/html    (Rendered.HTML, images as cid:)
//	│   └── image/png …      (inline, Content-ID, one per chart)
//	└── text/csv …           (attachments)
//
// from and to are RFC 5322 addresses ("Name <addr>" or addr).
func Compose(r *Rendered, from, to string, date time.Time) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(from); err != nil {
		return nil, fmt.Errorf("compose report: from: %w", err)
	}
	if err := m.To(to); err != nil {
		return nil, fmt.Errorf("compose report: to: %w", err)
	}
	m.Subject(r.Subject)
	m.SetDateWithValue(date)
	m.SetMessageID()
	// RFC 3834: keeps vacation responders from answering a robot.
	m.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	m.SetBodyString(mail.TypeTextPlain, r.Text)
	m.AddAlternativeString(mail.TypeTextHTML, r.HTML)
	for _, img := range r.Images {
		// go-mail writes the Content-ID as given; RFC 2392 wants it in
		// angle brackets (the HTML's cid: URL has none).
		if err := m.EmbedReader(img.Name, bytes.NewReader(img.PNG),
			mail.WithFileContentID("<"+img.ContentID+">"), mail.WithFileContentType("image/png")); err != nil {
			return nil, fmt.Errorf("compose report: embed %s: %w", img.Name, err)
		}
	}
	for _, a := range r.Files {
		if err := m.AttachReader(a.Name, bytes.NewReader(a.Data),
			mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return nil, fmt.Errorf("compose report: attach %s: %w", a.Name, err)
		}
	}
	return m, nil
}

// WriteFiles writes a report as files into dir (created if needed):
// message.eml (the whole message as it would be sent), report.html (the
// HTML part with the charts as files next to it), report.txt, every chart
// as .png and every attachment as .csv. It returns the paths written.
// Reports name clients and their numbers: the directory is 0700 and the
// files 0600, whatever the umask, and files already there are
// overwritten and made private too.
func WriteFiles(dir string, r *Rendered, msg *mail.Msg) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("write report files: %w", err)
	}
	var eml bytes.Buffer
	if _, err := msg.WriteTo(&eml); err != nil {
		return nil, fmt.Errorf("write report files: message: %w", err)
	}
	files := map[string][]byte{
		"message.eml": eml.Bytes(),
		"report.html": []byte(r.HTMLFile),
		"report.txt":  []byte(r.Text),
	}
	for _, img := range r.Images {
		files[img.Name] = img.PNG
	}
	for _, a := range r.Files {
		files[a.Name] = a.Data
	}
	var written []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return written, fmt.Errorf("write report files: %w", err)
		}
		if err := os.Chmod(p, 0o600); err != nil { // an older file keeps its mode otherwise
			return written, fmt.Errorf("write report files: %w", err)
		}
		written = append(written, p)
	}
	sort.Strings(written)
	return written, nil
}
