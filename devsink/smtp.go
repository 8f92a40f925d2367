// Package devsink holds the local stand-ins for the three channels that
// `relance dev` runs (docs/domain.md §2.2): an SMTP server, a stand-in of the
// Vonage SMS endpoint and the page listing what they (and the letters
// folder) received. They speak the real protocols, so dev exercises the
// production senders end to end without sending anything to anyone.
package devsink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultMaxMessages is how many messages a sink keeps when its Max is zero.
const DefaultMaxMessages = 1000

// ReceivedEmail is one message the SMTPSink accepted.
type ReceivedEmail struct {
	// ID numbers messages from 1 in arrival order; the outbox page links
	// to it.
	ID int
	// Received is when the message's data was accepted.
	Received time.Time
	// EnvelopeFrom and EnvelopeTo are the SMTP MAIL FROM and RCPT TO.
	EnvelopeFrom string
	EnvelopeTo   []string
	// AuthUser is the user name given with AUTH PLAIN, if any.
	AuthUser string
	// Raw is the message exactly as received.
	Raw []byte
	// From, To, Subject and MessageID are decoded header values; empty if
	// the message could not be parsed.
	From, To, Subject, MessageID string
	// Text and HTML are the decoded text/plain and text/html bodies.
	Text, HTML string
	// File is the .eml file written for the message, when the sink has a
	// Dir.
	File string
}

// SMTPSink is a loopback SMTP server that keeps every message it receives
// (the last Max in memory, and each as an .eml file when Dir is set). It
// accepts plain SMTP without TLS, with or without AUTH PLAIN (any
// credentials), which is what channels/email sends with TLS "none".
//
// Set the fields before Start.
type SMTPSink struct {
	// Dir, when set, receives one .eml file per message.
	Dir string
	// Max bounds the messages kept in memory; zero means
	// DefaultMaxMessages. The oldest are dropped first.
	Max int
	// Reject, when set, is asked about every recipient; a non-nil error
	// refuses it (return an *smtp.SMTPError to choose the reply, e.g. 550
	// or 451). Dev uses it to show a bounce; tests, a permanent failure.
	Reject func(rcpt string) error
	// DataDelay, when set, is how long the sink takes before its reply to
	// the end of DATA, like a slow relay: the message is kept and accepted
	// after it. Tests use it for a slow but live provider.
	DataDelay time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	msgs    []ReceivedEmail
	nextID  int
	server  *smtp.Server
	ln      net.Listener
	serving sync.WaitGroup
}

// Start listens on addr (a loopback address such as "127.0.0.1:2525";
// port 0 picks a free one) and serves in the background. The sink refuses
// to listen on a non-loopback address: it stores whatever it is sent.
func (s *SMTPSink) Start(addr string) error {
	if err := requireLoopback(addr); err != nil {
		return fmt.Errorf("devsink: SMTP sink: %w", err)
	}
	if s.Dir != "" {
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			return fmt.Errorf("devsink: SMTP sink: create %s: %w", s.Dir, err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("devsink: SMTP sink: listen on %s: %w", addr, err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{sink: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.MaxMessageBytes = 25 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = slogLogger{s.logger()}

	s.mu.Lock()
	s.server, s.ln = srv, ln
	s.mu.Unlock()
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.logger().Error("devsink: SMTP sink stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address the sink listens on ("127.0.0.1:40123"), or "" before
// Start.
func (s *SMTPSink) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server and drops open connections. The messages stay
// readable.
func (s *SMTPSink) Close() error {
	s.mu.Lock()
	srv, ln := s.server, s.ln
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	// go-smtp closes only the listeners Serve has registered: a Close
	// right after Start can come first, and Accept would block forever.
	if lerr := ln.Close(); lerr != nil && !errors.Is(lerr, net.ErrClosed) && err == nil {
		err = lerr
	}
	s.serving.Wait()
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return fmt.Errorf("devsink: close SMTP sink: %w", err)
	}
	return nil
}

// Messages returns the kept messages, oldest first.
func (s *SMTPSink) Messages() []ReceivedEmail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedEmail(nil), s.msgs...)
}

// Message returns the kept message with the given ID.
func (s *SMTPSink) Message(id int) (ReceivedEmail, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return ReceivedEmail{}, false
}

func (s *SMTPSink) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// store keeps a received message and writes its .eml file.
func (s *SMTPSink) store(m ReceivedEmail) {
	parseEmail(&m)
	s.mu.Lock()
	s.nextID++
	m.ID = s.nextID
	s.mu.Unlock()

	if s.Dir != "" {
		name := fmt.Sprintf("%s-%04d.eml", m.Received.UTC().Format("20060102T150405.000"), m.ID)
		path := filepath.Join(s.Dir, name)
		if err := os.WriteFile(path, m.Raw, 0o644); err != nil {
			s.logger().Warn("devsink: SMTP sink could not write the message file", "path", path, "err", err)
		} else {
			m.File = path
		}
	}

	max := s.Max
	if max <= 0 {
		max = DefaultMaxMessages
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	if len(s.msgs) > max {
		s.msgs = append([]ReceivedEmail(nil), s.msgs[len(s.msgs)-max:]...)
	}
	s.mu.Unlock()
	s.logger().Info("devsink: email received", "id", m.ID, "to", m.To, "subject", m.Subject)
}

// smtpSession is one SMTP transaction.
type smtpSession struct {
	sink     *SMTPSink
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.authUser = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.Reject != nil {
		if err := s.sink.Reject(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("devsink: read message data: %w", err)
	}
	if s.sink.DataDelay > 0 {
		time.Sleep(s.sink.DataDelay)
	}
	s.sink.store(ReceivedEmail{
		Received:     time.Now(),
		EnvelopeFrom: s.from,
		EnvelopeTo:   append([]string(nil), s.to...),
		AuthUser:     s.authUser,
		Raw:          raw,
	})
	return nil
}

func (s *smtpSession) Reset() {
	s.from = ""
	s.to = nil
}

func (s *smtpSession) Logout() error { return nil }

// parseEmail fills the decoded header fields and bodies of m from m.Raw; a
// message that cannot be parsed is kept raw.
func parseEmail(m *ReceivedEmail) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return
	}
	dec := new(mime.WordDecoder)
	decode := func(s string) string {
		if d, err := dec.DecodeHeader(s); err == nil {
			return d
		}
		return s
	}
	m.From = decode(msg.Header.Get("From"))
	m.To = decode(msg.Header.Get("To"))
	m.Subject = decode(msg.Header.Get("Subject"))
	m.MessageID = msg.Header.Get("Message-Id")
	m.Text, m.HTML = bodies(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
}

// bodies walks a MIME entity and returns its first text/plain and text/html
// parts, decoded.
func bodies(contentType, encoding string, body io.Reader, depth int) (text, html string) {
	if depth > 10 {
		return "", ""
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return text, html
			}
			t, h := bodies(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if text == "" {
				text = t
			}
			if html == "" {
				html = h
			}
		}
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return "", ""
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", ""
	}
	if mediaType == "text/html" {
		return "", string(b)
	}
	return string(b), ""
}

// requireLoopback refuses listen addresses that are not loopback.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen address %q is not a loopback address", addr)
}

// slogLogger adapts slog to go-smtp's error log.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...interface{}) {
	s.l.Debug("devsink: smtp server: " + fmt.Sprintf(format, v...))
}

func (s slogLogger) Println(v ...interface{}) {
	s.l.Debug("devsink: smtp server: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
