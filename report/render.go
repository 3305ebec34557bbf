package report

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/tabwriter"
	texttemplate "text/template"
	"unicode/utf8"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// Rendered is a report as the parts of an e-mail.
type Rendered struct {
	Subject string
	// HTML refers to the images as cid:ContentID, for the e-mail.
	HTML string
	// HTMLFile is the same page referring to the images by file name, for
	// --dry-run output that a browser opens from a directory.
	HTMLFile string
	// Text is the plain-text alternative: the same blocks, tables as
	// aligned text.
	Text   string
	Images []Image
	Files  []Attachment
}

// Attachment is a file attached to the e-mail.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

var (
	htmlTemplate = htmltemplate.Must(htmltemplate.New("report.html.tmpl").Funcs(htmltemplate.FuncMap{
		"src":   func(*Image) string { return "" }, // replaced per render
		"align": align,
	}).ParseFS(templateFiles, "templates/report.html.tmpl"))
	textTemplate = texttemplate.Must(texttemplate.New("report.txt.tmpl").Funcs(texttemplate.FuncMap{
		"underline": func(s, with string) string { return strings.Repeat(with, utf8.RuneCountInString(s)) },
		"tabulate":  tabulate,
	}).ParseFS(templateFiles, "templates/report.txt.tmpl"))
)

// Render writes a report in a language (Russian or English): subject, HTML
// and text bodies, charts and CSV attachments.
func Render(r *Report, lang string) (*Rendered, error) {
	if !ValidLanguage(lang) {
		return nil, fmt.Errorf("render report: unknown language %q: want ru or en", lang)
	}
	doc, err := newDocument(r, lang)
	if err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	out := &Rendered{Subject: doc.Subject, Images: doc.Images}
	if out.HTML, err = renderHTML(doc, func(i *Image) string { return "cid:" + i.ContentID }); err != nil {
		return nil, err
	}
	if out.HTMLFile, err = renderHTML(doc, func(i *Image) string { return i.Name }); err != nil {
		return nil, err
	}
	var text bytes.Buffer
	if err := textTemplate.Execute(&text, map[string]any{"Doc": doc}); err != nil {
		return nil, fmt.Errorf("render report text: %w", err)
	}
	out.Text = text.String()
	if out.Files, err = csvFiles(r); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return out, nil
}

func renderHTML(doc *document, src func(*Image) string) (string, error) {
	t, err := htmlTemplate.Clone()
	if err != nil {
		return "", fmt.Errorf("render report html: %w", err)
	}
	var b bytes.Buffer
	// html/template treats a cid: URL as unsafe unless it is typed as a
	// URL; the values are our own content ids and file names.
	t.Funcs(htmltemplate.FuncMap{"src": func(i *Image) htmltemplate.URL { return htmltemplate.URL(src(i)) }})
	if err := t.Execute(&b, map[string]any{"Doc": doc}); err != nil {
		return "", fmt.Errorf("render report html: %w", err)
	}
	return b.String(), nil
}

// align is the text-align of column i.
func align(right []bool, i int) string {
	if i < len(right) && right[i] {
		return "right"
	}
	return "left"
}

// tabulate lays a table out as aligned plain text.
func tabulate(t *table) string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	line := func(cells []string) {
		fmt.Fprintln(w, strings.Join(cells, "\t")+"\t")
	}
	line(t.Head)
	rule := make([]string, len(t.Head))
	for i, h := range t.Head {
		rule[i] = strings.Repeat("-", utf8.RuneCountInString(h))
	}
	line(rule)
	for _, r := range t.Rows {
		line(r)
	}
	if t.Foot != nil {
		line(t.Foot)
	}
	_ = w.Flush()
	return b.String()
}
