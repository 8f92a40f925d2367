// Package email sends Relance's emails over SMTP with github.com/wneessen/go-mail.
//
// SMTP is the one protocol every mail provider speaks (Postmark, SES,
// Mailgun, an Exchange relay, the dev sink), so Relance needs no
// provider-specific client. One connection is opened per message: sends are
// driven by Temporal activities, each with its own retry, and a fresh
// connection keeps one bad session from affecting the next message.
package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/metrics"
)

// TLS modes accepted in Config.TLS.
const (
	// TLSNone sends in clear text (the dev sink, a relay on localhost).
	TLSNone = "none"
	// TLSStartTLS connects in clear text and requires STARTTLS (port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit connects with TLS from the first byte (port 465).
	TLSImplicit = "tls"
)

// DefaultTimeout bounds each SMTP step (connect, each command, the data
// transfer) when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config is the SMTP relay to send through.
type Config struct {
	// Host is the relay's host name; it is also the name checked in its TLS
	// certificate.
	Host string
	// Port defaults to 25 for TLSNone, 587 for TLSStartTLS and 465 for
	// TLSImplicit.
	Port int
	// Username and Password enable SMTP AUTH when Username is set (PLAIN,
	// LOGIN, SCRAM or CRAM-MD5, whichever the server offers first in that
	// order). PLAIN and LOGIN are only used over TLS or to localhost.
	Username, Password string
	// TLS is "none", "starttls" (the default when empty) or "tls".
	TLS string
	// Timeout bounds each SMTP step, so a server that accepts the connection
	// and never answers fails the send (retryably) after Timeout.
	Timeout time.Duration
	// HeloName is the name given in EHLO; empty uses the machine's host name.
	HeloName string
	// ReturnPath is the envelope sender (SMTP MAIL FROM), where mail systems
	// send bounces: a mailbox whose mail is piped to /webhooks/email/bounce.
	// Empty uses each message's From.
	ReturnPath string
	// TLSConfig optionally replaces the TLS settings (private CA, tests);
	// nil verifies the relay's certificate against the system roots.
	TLSConfig *tls.Config
	// Limiter, when set, holds each message until the provider's rate
	// allows it: the SMS channel's limiter (sms.NewSQLLimiter on its own
	// row shares the rate across workers); nil sends at once.
	Limiter sms.Limiter
}

// Sender sends emails through one SMTP relay. It is safe for concurrent use:
// every SendEmail opens its own connection.
type Sender struct {
	cfg Config
}

var _ channels.EmailSender = (*Sender)(nil)

// New checks cfg and returns a Sender. It does not connect: a relay that is
// down at start-up only makes the first sends retry.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: config: Host is required")
	}
	if cfg.ReturnPath != "" {
		if a, err := netmail.ParseAddress(cfg.ReturnPath); err != nil || a.Address != cfg.ReturnPath {
			return nil, fmt.Errorf("email: config: return path %q is not a bare email address", cfg.ReturnPath)
		}
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSNone:
		if cfg.Port == 0 {
			cfg.Port = 25
		}
	case TLSStartTLS:
		if cfg.Port == 0 {
			cfg.Port = 587
		}
	case TLSImplicit:
		if cfg.Port == 0 {
			cfg.Port = 465
		}
	default:
		return nil, fmt.Errorf("email: config: TLS %q is not one of none, starttls, tls", cfg.TLS)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("email: config: Port %d is out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	} else {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
		if cfg.TLSConfig.ServerName == "" {
			cfg.TLSConfig.ServerName = cfg.Host
		}
	}
	return &Sender{cfg: cfg}, nil
}

// MessageID returns the Message-ID header value (with its angle brackets)
// that SendEmail gives the message with this key sent from this address:
// `<sha256(key)[:32 hex]@domain of from>`. It is deterministic so that a
// resend after an uncertain failure carries the same Message-ID (receivers
// and the customer's mail client can recognise the duplicate), and so that
// replies can be threaded (In-Reply-To) without storing anything else.
func MessageID(key, from string) string {
	sum := sha256.Sum256([]byte(key))
	domain := "relance.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		domain = strings.ToLower(from[at+1:])
	}
	return "<" + hex.EncodeToString(sum[:])[:32] + "@" + domain + ">"
}

// reservedHeaders are set by SendEmail itself and cannot be overridden
// through Email.Headers.
var reservedHeaders = []string{
	"From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Message-Id", "Date",
	"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Sender",
}

// SendEmail sends m as a multipart/alternative message (plain text and HTML)
// and returns its Message-ID as the provider ID.
//
// A 5xx reply (an unknown mailbox, a refused sender or content, but also a
// server refusing us at the greeting or our credentials at AUTH) is returned
// as channels.Permanent with the server's reply text: repeating the same
// conversation gets the same answer. 4xx replies, refused connections,
// timeouts and dropped connections are returned as plain, retryable errors,
// as is a cancelled ctx. Invalid input (addresses, header names) is
// Permanent. Once the server has accepted the data, a failure of the closing
// RSET or QUIT is ignored, so that a retry does not send the message twice;
// when the server's reply to the end of the data is lost, the error is
// channels.MaybeDelivered.
func (s *Sender) SendEmail(ctx context.Context, m channels.Email) (string, error) {
	msg, id, err := s.buildMessage(m)
	if err != nil {
		return "", channels.Permanent(err)
	}

	// The connection is closed if ctx ends (activity cancelled or timed
	// out), which aborts whatever SMTP step is in progress; go-mail itself
	// only applies ctx to the dial.
	sendCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.cfg.Limiter != nil {
		waitStart := time.Now()
		// A whole send is a few SMTP steps (connect, EHLO, MAIL, RCPT,
		// DATA), each bounded by Timeout.
		permit, err := s.cfg.Limiter.Acquire(ctx, 5*s.cfg.Timeout)
		metrics.LimiterWaited("email", time.Since(waitStart))
		if err != nil {
			return "", fmt.Errorf("email: send %s to %s: %w", id, m.To, err)
		}
		// Counted until the server's answer is in, and cut off at the
		// permit's deadline (see sms.Limiter: the bound holds at the provider).
		defer permit.Done()
		var cut context.CancelFunc
		sendCtx, cut = context.WithDeadline(sendCtx, permit.Deadline)
		defer cut()
	}
	client, err := mail.NewClient(s.cfg.Host, s.clientOptions(sendCtx)...)
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("email: configure SMTP client for %s: %w", s.cfg.Host, err))
	}
	if err := client.DialAndSendWithContext(sendCtx, msg); err != nil {
		if msg.IsDelivered() {
			// The server accepted the data (250 after DATA); what failed is
			// the RSET or QUIT that follows. Reporting an error would make
			// the activity send the message a second time.
			return id, nil
		}
		if handedOver(err) {
			// The whole message went out but the server's verdict on it
			// was lost (timeout, dropped connection, cancelled ctx): it
			// may be delivered, so it must not be sent again.
			return "", channels.MaybeDelivered(fmt.Errorf("email: send %s to %s via %s:%d: no reply to the end of the message: %w", id, m.To, s.cfg.Host, s.cfg.Port, err))
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("email: send %s to %s: %w (%w)", id, m.To, ctxErr, err)
		}
		return "", classify(fmt.Errorf("email: send %s to %s via %s:%d: %w", id, m.To, s.cfg.Host, s.cfg.Port, err))
	}
	return id, nil
}

// clientOptions builds the go-mail options for one send; the dial function
// ties the connection's life to ctx.
func (s *Sender) clientOptions(ctx context.Context) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.cfg.Port),
		mail.WithTimeout(s.cfg.Timeout),
		mail.WithTLSConfig(s.cfg.TLSConfig),
		mail.WithDialContextFunc(func(dialCtx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			var err error
			dialer := &net.Dialer{}
			if s.cfg.TLS == TLSImplicit {
				conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.cfg.TLSConfig}).DialContext(dialCtx, network, addr)
			} else {
				conn, err = dialer.DialContext(dialCtx, network, addr)
			}
			if err != nil {
				return nil, err
			}
			context.AfterFunc(ctx, func() { _ = conn.Close() })
			return conn, nil
		}),
	}
	switch s.cfg.TLS {
	case TLSNone, TLSImplicit:
		// Implicit TLS is done by the dial function above.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.HeloName != "" {
		opts = append(opts, mail.WithHELO(s.cfg.HeloName))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin,
				mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthCramMD5),
			mail.WithUsername(s.cfg.Username),
			mail.WithPassword(s.cfg.Password),
		)
	}
	return opts
}

// buildMessage turns m into a go-mail message; its errors are input errors.
func (s *Sender) buildMessage(m channels.Email) (*mail.Msg, string, error) {
	if m.Key == "" {
		return nil, "", errors.New("email: message key is empty")
	}
	if m.HTML == "" && m.Text == "" {
		return nil, "", fmt.Errorf("email: message %s has no body", m.Key)
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(m.FromName, m.From); err != nil {
		return nil, "", fmt.Errorf("email: message %s: invalid From %q: %w", m.Key, m.From, err)
	}
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return nil, "", fmt.Errorf("email: message %s: invalid To %q: %w", m.Key, m.To, err)
	}
	for _, a := range m.AlsoTo {
		if err := msg.AddToFormat(a.Name, a.Email); err != nil {
			return nil, "", fmt.Errorf("email: message %s: invalid To %q: %w", m.Key, a.Email, err)
		}
	}
	for _, a := range m.Cc {
		if err := msg.AddCcFormat(a.Name, a.Email); err != nil {
			return nil, "", fmt.Errorf("email: message %s: invalid Cc %q: %w", m.Key, a.Email, err)
		}
	}
	// go-mail writes the To, Cc and Reply-To fields only: Bcc addresses
	// are RCPT TO recipients and appear in no header.
	for _, a := range m.Bcc {
		if err := msg.AddBcc(a); err != nil {
			return nil, "", fmt.Errorf("email: message %s: invalid Bcc %q: %w", m.Key, a, err)
		}
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, "", fmt.Errorf("email: message %s: invalid Reply-To %q: %w", m.Key, m.ReplyTo, err)
		}
	}
	if s.cfg.ReturnPath != "" {
		if err := msg.EnvelopeFrom(s.cfg.ReturnPath); err != nil {
			return nil, "", fmt.Errorf("email: invalid return path %q: %w", s.cfg.ReturnPath, err)
		}
	}
	msg.Subject(m.Subject)
	id := MessageID(m.Key, m.From)
	msg.SetMessageIDWithValue(strings.Trim(id, "<>"))
	msg.SetDate()
	msg.SetUserAgent("Relance")

	names := make([]string, 0, len(m.Headers))
	for name := range m.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		value := m.Headers[name]
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if slices.Contains(reservedHeaders, canonical) {
			return nil, "", fmt.Errorf("email: message %s: header %q is set by the sender and cannot be overridden", m.Key, name)
		}
		if !validHeaderName(name) || strings.ContainsAny(value, "\r\n") {
			return nil, "", fmt.Errorf("email: message %s: invalid header %q", m.Key, name)
		}
		msg.SetGenHeader(mail.Header(canonical), value)
	}

	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	}
	return msg, id, nil
}

// validHeaderName accepts RFC 5322 field names (printable ASCII but ':').
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// handedOver reports whether err is the end of the DATA phase failing
// without a reply from the server: the message was written whole, and the
// server may have queued it before the connection broke.
func handedOver(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && se.Reason == mail.ErrSMTPDataClose && replyCode(err) == 0
}

// classify marks err permanent when the server answered with a 5xx reply
// (see SendEmail).
func classify(err error) error {
	if code := replyCode(err); code >= 500 && code <= 599 {
		return channels.Permanent(err)
	}
	return err
}

// replyCode returns the SMTP reply code err carries, or 0.
func replyCode(err error) int {
	var se *mail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}
