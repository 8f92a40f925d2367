package email_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/devsink"
)

const portal = "https://relance.example.test/portal/c/7f3a9e2b"

func startSink(t *testing.T, reject func(string) error) *devsink.SMTPSink {
	t.Helper()
	sink := &devsink.SMTPSink{Reject: reject}
	require.NoError(t, sink.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}

func newSender(t *testing.T, addr string, mod func(*email.Config)) *email.Sender {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	cfg := email.Config{Host: host, Port: p, TLS: email.TLSNone, Timeout: 5 * time.Second, HeloName: "relance.test"}
	if mod != nil {
		mod(&cfg)
	}
	s, err := email.New(cfg)
	require.NoError(t, err)
	return s
}

func reminder(key string) channels.Email {
	return channels.Email{
		Key:      key,
		FromName: "Acme Comptabilité",
		From:     "factures@acme.example",
		ReplyTo:  "inbox+org-3@relance.example",
		To:       "client@bâtiment.example",
		ToName:   "Bâtiment Durand SA",
		Subject:  "Rappel : facture n° 12 — échéance",
		HTML:     `<p>Bonjour,</p><p>La facture n° 12 est échue.</p><p><a href="` + portal + `">Votre espace</a></p>`,
		Text:     "Bonjour,\n\nLa facture n° 12 est échue.\nVotre espace : " + portal + "\n",
		Headers:  map[string]string{"X-Relance-Key": key, "List-Unsubscribe": "<mailto:stop@acme.example>"},
	}
}

// parsed is an email decoded independently of the sink's own parsing.
type parsed struct {
	header     mail.Header
	text, html string
	mediaType  string
}

func decodeMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	out := parsed{header: msg.Header, mediaType: mt}
	require.Equal(t, "multipart/alternative", mt)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var r io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(part)
		}
		body, err := io.ReadAll(r)
		require.NoError(t, err)
		pt, pp, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "utf-8", strings.ToLower(pp["charset"]))
		switch pt {
		case "text/plain":
			out.text = string(body)
		case "text/html":
			out.html = string(body)
		default:
			t.Fatalf("unexpected part %s", pt)
		}
	}
	return out
}

func TestSendEmailDeliversTheExactMessage(t *testing.T) {
	sink := startSink(t, nil)
	sender := newSender(t, sink.Addr(), nil)
	m := reminder("invoice:3:INV-12/step-2/email")

	id, err := sender.SendEmail(context.Background(), m)
	require.NoError(t, err)
	require.Equal(t, email.MessageID(m.Key, m.From), id)
	require.Regexp(t, `^<[0-9a-f]{32}@acme\.example>$`, id)

	msgs := sink.Messages()
	require.Len(t, msgs, 1)
	got := msgs[0]
	require.Equal(t, m.From, got.EnvelopeFrom)
	require.Equal(t, []string{m.To}, got.EnvelopeTo)

	p := decodeMessage(t, got.Raw)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(p.header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, m.Subject, subject)

	parser := mail.AddressParser{WordDecoder: dec}
	from, err := parser.Parse(p.header.Get("From"))
	require.NoError(t, err)
	require.Equal(t, mail.Address{Name: m.FromName, Address: m.From}, *from)
	to, err := parser.Parse(p.header.Get("To"))
	require.NoError(t, err)
	require.Equal(t, mail.Address{Name: m.ToName, Address: m.To}, *to)
	replyTo, err := parser.Parse(p.header.Get("Reply-To"))
	require.NoError(t, err)
	require.Equal(t, m.ReplyTo, replyTo.Address)

	require.Equal(t, id, p.header.Get("Message-Id"))
	require.Equal(t, m.Key, p.header.Get("X-Relance-Key"))
	require.Equal(t, "<mailto:stop@acme.example>", p.header.Get("List-Unsubscribe"))
	_, err = p.header.Date()
	require.NoError(t, err, "the message carries a valid Date")

	require.Equal(t, strings.ReplaceAll(m.Text, "\n", "\r\n"), p.text)
	require.Equal(t, m.HTML, p.html)
	require.Contains(t, p.text, portal)
	require.Contains(t, p.html, `href="`+portal+`"`)

	// The sink parsed the same message for the outbox page.
	require.Equal(t, m.Subject, got.Subject)
	require.Equal(t, id, got.MessageID)
	require.Equal(t, m.HTML, got.HTML)
}

// TestCopiesAndBlindCopies: further recipients and copies are in the
// envelope and the headers, a blind copy only in the envelope.
func TestCopiesAndBlindCopies(t *testing.T) {
	sink := startSink(t, nil)
	sender := newSender(t, sink.Addr(), nil)
	m := reminder("invoice:3:INV-12/step-2/email")
	m.AlsoTo = []channels.Address{{Name: "Marc Fournisseurs", Email: "ap@bâtiment.example"}}
	m.Cc = []channels.Address{{Name: "Paul Daf", Email: "daf@bâtiment.example"}, {Email: "compta@bâtiment.example"}}
	m.Bcc = []string{"archive@acme.example"}
	_, err := sender.SendEmail(context.Background(), m)
	require.NoError(t, err)
	msgs := sink.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, []string{m.To, "ap@bâtiment.example", "daf@bâtiment.example", "compta@bâtiment.example", "archive@acme.example"}, msgs[0].EnvelopeTo)
	p := decodeMessage(t, msgs[0].Raw)
	parser := mail.AddressParser{WordDecoder: new(mime.WordDecoder)}
	to, err := parser.ParseList(p.header.Get("To"))
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Name: m.ToName, Address: m.To}, {Name: "Marc Fournisseurs", Address: "ap@bâtiment.example"}}, to)
	cc, err := parser.ParseList(p.header.Get("Cc"))
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Name: "Paul Daf", Address: "daf@bâtiment.example"}, {Address: "compta@bâtiment.example"}}, cc)
	require.Empty(t, p.header.Get("Bcc"))
	require.NotContains(t, string(msgs[0].Raw), "archive@acme.example")
}

func TestResendOfTheSameKeyCarriesTheSameMessageID(t *testing.T) {
	sink := startSink(t, nil)
	sender := newSender(t, sink.Addr(), nil)

	first, err := sender.SendEmail(context.Background(), reminder("invoice:3:INV-12/step-2/email"))
	require.NoError(t, err)
	second, err := sender.SendEmail(context.Background(), reminder("invoice:3:INV-12/step-2/email"))
	require.NoError(t, err)
	other, err := sender.SendEmail(context.Background(), reminder("invoice:3:INV-12/step-3/email"))
	require.NoError(t, err)

	require.Equal(t, first, second)
	require.NotEqual(t, first, other)
	msgs := sink.Messages()
	require.Len(t, msgs, 3)
	require.Equal(t, msgs[0].MessageID, msgs[1].MessageID)
	require.NotEqual(t, msgs[0].MessageID, msgs[2].MessageID)
}

func TestSendEmailWithAuthPlain(t *testing.T) {
	sink := startSink(t, nil)
	sender := newSender(t, sink.Addr(), func(c *email.Config) {
		c.Username, c.Password = "relance", "s3cret"
	})
	_, err := sender.SendEmail(context.Background(), reminder("k/auth"))
	require.NoError(t, err)
	msgs := sink.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "relance", msgs[0].AuthUser)
}

func TestRejectedRecipientIsPermanent(t *testing.T) {
	sink := startSink(t, func(rcpt string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable: no such user"}
	})
	sender := newSender(t, sink.Addr(), nil)

	_, err := sender.SendEmail(context.Background(), reminder("k/550"))
	require.Error(t, err)
	require.True(t, channels.IsPermanent(err), "a 550 cannot be fixed by a retry: %v", err)
	require.Contains(t, err.Error(), "550")
	require.Contains(t, err.Error(), "no such user", "the error carries the server's reply")
	require.Empty(t, sink.Messages())
}

func TestTemporaryRejectionIsRetryable(t *testing.T) {
	sink := startSink(t, func(rcpt string) error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again later"}
	})
	sender := newSender(t, sink.Addr(), nil)

	_, err := sender.SendEmail(context.Background(), reminder("k/451"))
	require.Error(t, err)
	require.False(t, channels.IsPermanent(err), "a 451 is retryable: %v", err)
	require.Contains(t, err.Error(), "451")
	require.Contains(t, err.Error(), "Greylisted")
}

// silentServer accepts connections and never answers; accepted is signalled
// for every connection.
func silentServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

func TestSilentServerTimesOutRetryably(t *testing.T) {
	addr, accepted := silentServer(t)
	sender := newSender(t, addr, func(c *email.Config) { c.Timeout = 300 * time.Millisecond })

	_, err := sender.SendEmail(context.Background(), reminder("k/silent"))
	require.Error(t, err)
	require.False(t, channels.IsPermanent(err))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the send gives up after Timeout: %v", err)
	require.Len(t, accepted, 1, "the server did accept the connection")
}

func TestCancelledContextAbortsTheSend(t *testing.T) {
	addr, accepted := silentServer(t)
	sender := newSender(t, addr, func(c *email.Config) { c.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()

	_, err := sender.SendEmail(ctx, reminder("k/cancel"))
	require.Error(t, err)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, channels.IsPermanent(err))
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	sender := newSender(t, addr, nil)

	_, err = sender.SendEmail(context.Background(), reminder("k/refused"))
	require.Error(t, err)
	require.False(t, channels.IsPermanent(err))
}

// scriptedServer answers every connection with a fixed greeting, then
// closes it.
func scriptedServer(t *testing.T, greeting string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.WriteString(c, greeting)
				_, _ = bufio.NewReader(c).ReadString('\n')
			}()
		}
	}()
	return ln.Addr().String()
}

func TestGreetingRepliesAreClassified(t *testing.T) {
	for _, tc := range []struct {
		greeting  string
		permanent bool
	}{
		{"554 5.7.1 relance.test does not accept mail from you\r\n", true},
		{"421 4.3.2 Service not available, closing channel\r\n", false},
	} {
		t.Run(tc.greeting[:3], func(t *testing.T) {
			sender := newSender(t, scriptedServer(t, tc.greeting), nil)
			_, err := sender.SendEmail(context.Background(), reminder("k/greeting"))
			require.Error(t, err)
			require.Equal(t, tc.permanent, channels.IsPermanent(err), "%v", err)
			require.Contains(t, err.Error(), tc.greeting[:3])
		})
	}
}

func TestInvalidInputIsPermanent(t *testing.T) {
	sink := startSink(t, nil)
	sender := newSender(t, sink.Addr(), nil)
	for name, mod := range map[string]func(*channels.Email){
		"bad to":          func(m *channels.Email) { m.To = "not an address" },
		"bad from":        func(m *channels.Email) { m.From = "" },
		"bad reply-to":    func(m *channels.Email) { m.ReplyTo = "nope" },
		"bad also-to":     func(m *channels.Email) { m.AlsoTo = []channels.Address{{Email: "nope"}} },
		"bad cc":          func(m *channels.Email) { m.Cc = []channels.Address{{Name: "X", Email: "x@"}} },
		"bad bcc":         func(m *channels.Email) { m.Bcc = []string{"a@b.example\r\nX: y"} },
		"no key":          func(m *channels.Email) { m.Key = "" },
		"no body":         func(m *channels.Email) { m.HTML, m.Text = "", "" },
		"reserved header": func(m *channels.Email) { m.Headers = map[string]string{"message-id": "<x@y>"} },
		"header newline":  func(m *channels.Email) { m.Headers = map[string]string{"X-A": "a\r\nBcc: victim@example"} },
	} {
		t.Run(name, func(t *testing.T) {
			m := reminder("k/invalid")
			mod(&m)
			_, err := sender.SendEmail(context.Background(), m)
			require.Error(t, err)
			require.True(t, channels.IsPermanent(err), "%v", err)
		})
	}
	require.Empty(t, sink.Messages())
}

func TestNewChecksTheConfig(t *testing.T) {
	_, err := email.New(email.Config{})
	require.Error(t, err)
	_, err = email.New(email.Config{Host: "smtp.example", TLS: "ssl"})
	require.Error(t, err)
	_, err = email.New(email.Config{Host: "smtp.example", Port: 70000})
	require.Error(t, err)
	_, err = email.New(email.Config{Host: "smtp.example"})
	require.NoError(t, err)
}

func TestMessageIDIsStable(t *testing.T) {
	a := email.MessageID("invoice:3:INV-1/step-2/email", "Factures@Acme.Example")
	require.Equal(t, a, email.MessageID("invoice:3:INV-1/step-2/email", "other@acme.example"))
	require.Regexp(t, `^<[0-9a-f]{32}@acme\.example>$`, a)
}

// tlsBackend is a minimal go-smtp backend that records messages, for the
// TLS modes (the dev sink speaks clear text only).
type tlsBackend struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (b *tlsBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &tlsSession{b: b}, nil }

type tlsSession struct{ b *tlsBackend }

func (s *tlsSession) Reset()                               {}
func (s *tlsSession) Logout() error                        { return nil }
func (s *tlsSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, b)
	s.b.mu.Unlock()
	return err
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relance test smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLSModes(t *testing.T) {
	cert, pool := selfSigned(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, mode := range []string{email.TLSStartTLS, email.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			be := &tlsBackend{}
			srv := smtp.NewServer(be)
			srv.Domain = "localhost"
			srv.TLSConfig = serverTLS
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			if mode == email.TLSImplicit {
				ln = tls.NewListener(ln, serverTLS)
			}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })

			sender := newSender(t, ln.Addr().String(), func(c *email.Config) {
				c.TLS = mode
				c.TLSConfig = &tls.Config{RootCAs: pool}
			})
			_, err = sender.SendEmail(context.Background(), reminder("k/tls/"+mode))
			require.NoError(t, err)
			be.mu.Lock()
			defer be.mu.Unlock()
			require.Len(t, be.msgs, 1)
			require.Contains(t, string(be.msgs[0]), "Subject:")
		})
	}
}

func TestStartTLSIsRequiredWhenConfigured(t *testing.T) {
	sink := startSink(t, nil) // clear text only, no STARTTLS
	sender := newSender(t, sink.Addr(), func(c *email.Config) { c.TLS = email.TLSStartTLS })
	_, err := sender.SendEmail(context.Background(), reminder("k/starttls-missing"))
	require.Error(t, err, "never falls back to clear text")
	require.Empty(t, sink.Messages())
}

// TestReturnPathIsTheEnvelopeSender: bounces go to the return path (the
// bounce mailbox), while the customer sees the administration's From.
func TestReturnPathIsTheEnvelopeSender(t *testing.T) {
	sink := startSink(t, nil)
	sender := newSender(t, sink.Addr(), func(c *email.Config) { c.ReturnPath = "bounces@relance.example" })
	m := reminder("invoice:3:INV-12/step-3/email")
	_, err := sender.SendEmail(context.Background(), m)
	require.NoError(t, err)
	msgs := sink.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "bounces@relance.example", msgs[0].EnvelopeFrom)
	p := decodeMessage(t, msgs[0].Raw)
	require.Contains(t, p.header.Get("From"), m.From)
	require.NotContains(t, string(msgs[0].Raw), "EnvelopeFrom", "not a header of the message")

	_, err = email.New(email.Config{Host: "smtp.example", ReturnPath: "Bounces <b@x.example>"})
	require.Error(t, err, "a bare address only")
}
