package devsink

import (
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultOutboxPrefix is where `relance dev` serves the outbox page.
const DefaultOutboxPrefix = "/dev/outbox"

// OutboxPage is an http.Handler listing what the dev sinks received, so a
// developer sees every email, SMS and letter the journeys sent without a
// mail client or a phone. Under its prefix it serves:
//
//	{prefix}/                  the list (emails, SMS, letters), newest first
//	{prefix}/email/{id}        an email's HTML body (sandboxed)
//	{prefix}/email/{id}/text   its text body
//	{prefix}/email/{id}/raw    the message as received (.eml)
//	{prefix}/letters/{name}    a letter PDF from the letters folder
type OutboxPage struct {
	prefix     string
	smtp       *SMTPSink
	sms        *VonageSink
	lettersDir string
	mux        *http.ServeMux
}

// NewOutboxPage returns the page for the given sinks, served under prefix
// (DefaultOutboxPrefix when empty). Any sink may be nil, and lettersDir
// empty, when that channel is not run.
func NewOutboxPage(prefix string, smtpSink *SMTPSink, smsSink *VonageSink, lettersDir string) *OutboxPage {
	if prefix == "" {
		prefix = DefaultOutboxPrefix
	}
	prefix = "/" + strings.Trim(prefix, "/")
	p := &OutboxPage{prefix: prefix, smtp: smtpSink, sms: smsSink, lettersDir: lettersDir, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET "+prefix+"/{$}", p.list)
	p.mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, prefix+"/", http.StatusFound)
	})
	p.mux.HandleFunc("GET "+prefix+"/email/{id}", p.emailHTML)
	p.mux.HandleFunc("GET "+prefix+"/email/{id}/text", p.emailText)
	p.mux.HandleFunc("GET "+prefix+"/email/{id}/raw", p.emailRaw)
	p.mux.HandleFunc("GET "+prefix+"/letters/{name}", p.letter)
	return p
}

// Prefix is the path the page is served under.
func (p *OutboxPage) Prefix() string { return p.prefix }

// ServeHTTP serves the page and its views.
func (p *OutboxPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mux.ServeHTTP(w, r)
}

// letterFile is a PDF in the letters folder.
type letterFile struct {
	Name     string
	Modified time.Time
	Size     int64
}

// outboxData is what the list template shows.
type outboxData struct {
	Prefix     string
	Emails     []ReceivedEmail
	SMS        []SentSMS
	Letters    []letterFile
	HasSMTP    bool
	HasSMS     bool
	LettersDir string
	LettersErr string
}

var outboxTemplate = template.Must(template.New("outbox").Funcs(template.FuncMap{
	"time": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"join": strings.Join,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Relance dev outbox</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f3f3f3}
td.text{white-space:pre-wrap;max-width:40rem}
.empty{color:#777}
</style></head><body>
<h1>Dev outbox</h1>
<p>Everything the local channel sinks received. Nothing here left this machine.</p>

<h2 id="emails">Emails ({{len .Emails}})</h2>
{{if not .HasSMTP}}<p class="empty">The SMTP sink is not running.</p>
{{else if not .Emails}}<p class="empty">No email yet.</p>
{{else}}<table><tr><th>Received</th><th>To</th><th>Subject</th><th>View</th></tr>
{{range .Emails}}<tr><td>{{time .Received}}</td><td>{{if .To}}{{.To}}{{else}}{{join .EnvelopeTo ", "}}{{end}}</td><td>{{.Subject}}</td>
<td><a href="{{$.Prefix}}/email/{{.ID}}">HTML</a> · <a href="{{$.Prefix}}/email/{{.ID}}/text">text</a> · <a href="{{$.Prefix}}/email/{{.ID}}/raw">.eml</a></td></tr>
{{end}}</table>{{end}}

<h2 id="sms">SMS ({{len .SMS}})</h2>
{{if not .HasSMS}}<p class="empty">The SMS stand-in is not running.</p>
{{else if not .SMS}}<p class="empty">No SMS yet.</p>
{{else}}<table><tr><th>Received</th><th>To</th><th>From</th><th>Text</th><th>Parts</th></tr>
{{range .SMS}}<tr><td>{{time .Received}}</td><td>+{{.To}}</td><td>{{.From}}</td><td class="text">{{.Text}}</td><td>{{.Parts}}{{if eq .Type "unicode"}} (unicode){{end}}</td></tr>
{{end}}</table>{{end}}

<h2 id="letters">Letters ({{len .Letters}})</h2>
{{if not .LettersDir}}<p class="empty">No letters folder is configured.</p>
{{else if .LettersErr}}<p class="empty">{{.LettersErr}}</p>
{{else if not .Letters}}<p class="empty">No letter yet in {{.LettersDir}}.</p>
{{else}}<table><tr><th>Written</th><th>File</th><th>Size</th></tr>
{{range .Letters}}<tr><td>{{time .Modified}}</td><td><a href="{{$.Prefix}}/letters/{{.Name}}">{{.Name}}</a></td><td>{{.Size}} bytes</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

func (p *OutboxPage) list(w http.ResponseWriter, r *http.Request) {
	data := outboxData{Prefix: p.prefix, HasSMTP: p.smtp != nil, HasSMS: p.sms != nil, LettersDir: p.lettersDir}
	if p.smtp != nil {
		data.Emails = p.smtp.Messages()
		slices.Reverse(data.Emails)
	}
	if p.sms != nil {
		data.SMS = p.sms.Messages()
		slices.Reverse(data.SMS)
	}
	if p.lettersDir != "" {
		letters, err := p.letters()
		if err != nil && !os.IsNotExist(err) {
			data.LettersErr = "Cannot read the letters folder: " + err.Error()
		}
		data.Letters = letters
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := outboxTemplate.Execute(w, data); err != nil {
		slog.Warn("devsink: render outbox page", "err", err)
	}
}

// letters lists the PDFs in the letters folder, newest first.
func (p *OutboxPage) letters() ([]letterFile, error) {
	entries, err := os.ReadDir(p.lettersDir)
	if err != nil {
		return nil, err
	}
	var files []letterFile
	for _, e := range entries {
		if !validLetterName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, letterFile{Name: e.Name(), Modified: info.ModTime(), Size: info.Size()})
	}
	slices.SortFunc(files, func(a, b letterFile) int { return b.Modified.Compare(a.Modified) })
	return files, nil
}

// validLetterName accepts plain, visible .pdf file names only, so the
// letter view cannot be pointed outside the folder.
func validLetterName(name string) bool {
	return strings.HasSuffix(name, ".pdf") && !strings.HasPrefix(name, ".") &&
		filepath.Base(name) == name && !strings.ContainsAny(name, `/\`)
}

// email finds the email of the request's {id}, answering 404 otherwise.
func (p *OutboxPage) email(w http.ResponseWriter, r *http.Request) (ReceivedEmail, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || p.smtp == nil {
		http.NotFound(w, r)
		return ReceivedEmail{}, false
	}
	m, ok := p.smtp.Message(id)
	if !ok {
		http.NotFound(w, r)
	}
	return m, ok
}

func (p *OutboxPage) emailHTML(w http.ResponseWriter, r *http.Request) {
	m, ok := p.email(w, r)
	if !ok {
		return
	}
	if m.HTML == "" {
		http.Redirect(w, r, p.prefix+"/email/"+strconv.Itoa(m.ID)+"/text", http.StatusFound)
		return
	}
	// The body is shown as the customer's mail client would, but sandboxed:
	// no script runs and no form posts from this origin.
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(m.HTML))
}

func (p *OutboxPage) emailText(w http.ResponseWriter, r *http.Request) {
	m, ok := p.email(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(m.Text))
}

func (p *OutboxPage) emailRaw(w http.ResponseWriter, r *http.Request) {
	m, ok := p.email(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Disposition", `attachment; filename="email-`+strconv.Itoa(m.ID)+`.eml"`)
	_, _ = w.Write(m.Raw)
}

func (p *OutboxPage) letter(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if p.lettersDir == "" || !validLetterName(name) {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(p.lettersDir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	http.ServeContent(w, r, name, info.ModTime(), f)
}
