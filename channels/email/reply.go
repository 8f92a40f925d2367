package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"
)

// Customers answer reminders by email; the MTA pipes those answers, raw, to
// /webhooks/email/inbound (docs/channels.md). ParseReply reads them with the
// same standard-library MIME stack as ParseDSN (net/mail, mime,
// mime/multipart), plus golang.org/x/net/html to read an HTML-only body and
// golang.org/x/text for the legacy charsets mail clients still use.

// ErrNotMail is returned, wrapped with the reason, by ParseReply for input
// that is not an email it can read: no header, no sender, a broken MIME
// structure.
var ErrNotMail = errors.New("not a readable email")

// ReplyLimits bound what ParseReply keeps of one email. The body itself is
// bounded by the caller (the webhook's request limit).
type ReplyLimits struct {
	// MaxText is the most bytes of text kept; a longer text is cut (on a
	// character boundary) and ends with TruncatedMark.
	MaxText int
	// MaxAttachment is the most bytes of one attachment kept; a larger one
	// is listed with its size and Refused set, without its bytes.
	MaxAttachment int64
	// MaxAttachments is the most attachments listed; more are counted in
	// Reply.DroppedAttachments.
	MaxAttachments int
}

// DefaultReplyLimits are the webhook's limits (docs/channels.md).
var DefaultReplyLimits = ReplyLimits{MaxText: 64 << 10, MaxAttachment: 10 << 20, MaxAttachments: 20}

// TruncatedMark ends a text cut at ReplyLimits.MaxText.
const TruncatedMark = "\n[…] (truncated)"

// maxReplyDepth and maxReplyParts bound the MIME tree ParseReply walks, so
// that a crafted message cannot make it loop or recurse without end.
const (
	maxReplyDepth = 8
	maxReplyParts = 200
)

// Reply is what Relance keeps of an email a customer sent.
type Reply struct {
	// MessageID is the email's own Message-ID with angle brackets; "" when
	// it has none that reads as one.
	MessageID string
	// InReplyTo and References are the msg-ids (with angle brackets) the
	// email answers, as its headers list them (In-Reply-To first).
	InReplyTo, References []string
	// From is the sender's address (lower-cased domain kept as written);
	// FromName its display name.
	From, FromName string
	// To lists the addresses of To, Cc and Delivered-To: the mailbox the
	// customer wrote to names the organization.
	To []string
	// Subject is decoded (RFC 2047), on one line.
	Subject string
	// Text is the body: the text/plain part (the plain alternative of a
	// multipart/alternative), else the HTML part read as text.
	Text string
	// Attachments are the other parts: files, and forwarded messages.
	Attachments []Attachment
	// DroppedAttachments counts attachments beyond MaxAttachments.
	DroppedAttachments int
	// SHA256 is the hash of the raw message (hex); it identifies an email
	// without a Message-ID, so that a second delivery is recognised.
	SHA256 string
}

// Attachment is one attached file of a reply.
type Attachment struct {
	FileName    string
	ContentType string
	// Size is the decoded size in bytes (also when the bytes were refused).
	Size int64
	// Data is the decoded content; nil when Refused.
	Data []byte
	// Refused says why the bytes were not kept ("" when they were).
	Refused string
}

// ParseReply reads one raw email (RFC 5322 with MIME), as an MTA pipes it
// (an mbox "From " line before it is skipped). A failure of r itself (a
// body over the size limit) is returned wrapped as it is; anything
// unreadable is ErrNotMail with the reason.
func ParseReply(r io.Reader, lim ReplyLimits) (Reply, error) {
	if lim.MaxText <= 0 {
		lim.MaxText = DefaultReplyLimits.MaxText
	}
	if lim.MaxAttachment <= 0 {
		lim.MaxAttachment = DefaultReplyLimits.MaxAttachment
	}
	if lim.MaxAttachments <= 0 {
		lim.MaxAttachments = DefaultReplyLimits.MaxAttachments
	}
	h := sha256.New()
	src := &recordingReader{r: io.TeeReader(r, h)}
	br := bufio.NewReader(src)
	skipEnvelopeLines(br)
	msg, err := mail.ReadMessage(br)
	if src.err != nil {
		return Reply{}, fmt.Errorf("email: read reply: %w", src.err)
	}
	if err != nil {
		return Reply{}, fmt.Errorf("%w: unreadable header: %v", ErrNotMail, err)
	}
	var out Reply
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) == 0 {
		return Reply{}, fmt.Errorf("%w: no readable From address (%q)", ErrNotMail, oneLine(msg.Header.Get("From")))
	}
	out.From, out.FromName = from[0].Address, oneLine(from[0].Name)
	for _, f := range []string{"To", "Cc", "Delivered-To"} {
		if list, err := msg.Header.AddressList(f); err == nil {
			for _, a := range list {
				out.To = append(out.To, a.Address)
			}
		}
	}
	out.Subject = decodeWords(msg.Header.Get("Subject"))
	out.MessageID = normalizeMessageID(msg.Header.Get("Message-Id"))
	out.InReplyTo = messageIDs(msg.Header.Get("In-Reply-To"))
	out.References = messageIDs(msg.Header.Get("References"))

	w := &replyWalker{lim: lim, out: &out}
	if err := w.walk(textproto.MIMEHeader(msg.Header), msg.Body, 0); err != nil {
		if src.err != nil {
			return Reply{}, fmt.Errorf("email: read reply: %w", src.err)
		}
		return Reply{}, err
	}
	// Read what the walk left (an epilogue), so the hash covers it all.
	if _, err := io.Copy(io.Discard, br); err != nil || src.err != nil {
		return Reply{}, fmt.Errorf("email: read reply: %w", errors.Join(src.err, err))
	}
	out.Text = cutText(w.text(), lim.MaxText)
	out.SHA256 = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// replyWalker collects the body and attachments of a MIME tree.
type replyWalker struct {
	lim        ReplyLimits
	out        *Reply
	parts      int
	plain, htm string
	seenPlain  bool
	seenHTML   bool
}

// text is the body: the plain text, else the HTML read as text.
func (w *replyWalker) text() string {
	if w.seenPlain && strings.TrimSpace(w.plain) != "" {
		return strings.TrimSpace(w.plain)
	}
	return strings.TrimSpace(htmlText(w.htm))
}

// walk reads one entity: a multipart is walked part by part, the first
// inline text/plain and text/html become the body, anything else (or a
// text marked as an attachment) an attachment.
func (w *replyWalker) walk(h textproto.MIMEHeader, body io.Reader, depth int) error {
	w.parts++
	if depth > maxReplyDepth || w.parts > maxReplyParts {
		return fmt.Errorf("%w: MIME parts nested too deep or too many", ErrNotMail)
	}
	mt, params := mediaType(h.Get("Content-Type"))
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := fileName(dparams["filename"], params["name"])
	if strings.HasPrefix(mt, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("%w: %s without a boundary", ErrNotMail, mt)
		}
		mr := multipart.NewReader(body, boundary)
		n := 0
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				if n == 0 {
					return fmt.Errorf("%w: %s with no part", ErrNotMail, mt)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrNotMail, mt, err)
			}
			n++
			if err := w.walk(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	decoded := decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	inline := disp != "attachment" && name == ""
	switch {
	case inline && mt == "text/plain" && !w.seenPlain:
		w.seenPlain = true
		s, err := readText(decoded, params["charset"], w.lim.MaxText)
		w.plain = s
		return err
	case inline && mt == "text/html" && !w.seenHTML:
		w.seenHTML = true
		// HTML is larger than its text: keep four times the text limit.
		s, err := readText(decoded, params["charset"], 4*w.lim.MaxText)
		w.htm = s
		return err
	}
	return w.attach(mt, name, decoded)
}

// attach records one attachment, keeping its bytes up to the limit.
func (w *replyWalker) attach(mt, name string, r io.Reader) error {
	if len(w.out.Attachments) >= w.lim.MaxAttachments {
		w.out.DroppedAttachments++
		_, err := io.Copy(io.Discard, r)
		return partErr(err)
	}
	if name == "" {
		name = "attachment"
		if mt == "message/rfc822" {
			name = "message.eml"
		}
	}
	a := Attachment{FileName: name, ContentType: mt}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, w.lim.MaxAttachment+1))
	if err != nil {
		return partErr(err)
	}
	a.Size = n
	if n > w.lim.MaxAttachment {
		rest, err := io.Copy(io.Discard, r)
		if err != nil {
			return partErr(err)
		}
		a.Size += rest
		a.Refused = fmt.Sprintf("larger than the %d bytes kept per attachment", w.lim.MaxAttachment)
	} else {
		a.Data = buf.Bytes()
	}
	w.out.Attachments = append(w.out.Attachments, a)
	return nil
}

// partErr makes a part that cannot be decoded (broken base64, a cut-off
// multipart) ErrNotMail; a failure of the request body stays as it is (the
// caller checks it first).
func partErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrNotMail, err)
}

// readText reads a text part in its charset as UTF-8, at most max bytes of
// it (the rest is read and dropped, so that the walk can go on).
func readText(r io.Reader, charset string, max int) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+int64(len(TruncatedMark))+4))
	if err != nil {
		return "", partErr(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", partErr(err)
	}
	return toUTF8(b, charset), nil
}

// toUTF8 converts b from charset; an unknown charset, or bytes invalid in
// it, leave U+FFFD where they were rather than refusing the email.
func toUTF8(b []byte, charset string) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		if enc, err := htmlindex.Get(cs); err == nil {
			if d, err := enc.NewDecoder().Bytes(b); err == nil {
				b = d
			}
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(c rune) rune {
		if c == 0 || (c < ' ' && c != '\n' && c != '\t') || c == 0x7f {
			return -1
		}
		return c
	}, s)
}

// htmlText reads the text of an HTML body: block elements become line
// breaks, scripts and styles are dropped, entities decoded.
func htmlText(s string) string {
	if s == "" {
		return ""
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return collapseBlankLines(b.String())
		case html.TextToken:
			if skip == 0 {
				b.WriteString(spaces.ReplaceAllString(string(z.Text()), " "))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				skip++
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "blockquote":
				b.WriteString("\n")
			case "td", "th":
				b.WriteString(" ")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if skip > 0 {
					skip--
				}
			case "p", "div", "tr", "li", "h1", "h2", "h3", "blockquote":
				b.WriteString("\n")
			}
		}
	}
}

// spaces are the runs of white space HTML shows as one space.
var spaces = regexp.MustCompile(`\s+`)

// collapseBlankLines trims every line and keeps at most one empty line in a row.
func collapseBlankLines(s string) string {
	var out []string
	blank := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// cutText cuts s to max bytes on a character boundary, marked.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cutBytes(s, max) + TruncatedMark
}

// cutBytes cuts s to at most max bytes on a character boundary.
func cutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// wordDecoder decodes RFC 2047 words in any charset golang.org/x/text knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}}

// decodeWords decodes an RFC 2047 header value, on one line; an undecodable
// value is kept as written.
func decodeWords(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return oneLine(v)
}

// fileName is an attachment's name: the disposition's filename, else the
// content type's name, decoded, without any directory, at most 255 bytes.
func fileName(names ...string) string {
	for _, n := range names {
		n = decodeWords(n)
		n = path.Base(strings.ReplaceAll(n, "\\", "/"))
		if n == "." || n == "/" || n == ".." {
			n = ""
		}
		if n != "" {
			return cutBytes(n, 255)
		}
	}
	return ""
}

// messageIDs lists the msg-ids of an In-Reply-To or References field.
func messageIDs(v string) []string {
	var ids []string
	for {
		open := strings.IndexByte(v, '<')
		if open < 0 {
			break
		}
		end := strings.IndexByte(v[open:], '>')
		if end < 0 {
			break
		}
		if id := normalizeMessageID(v[open : open+end+1]); id != "" && len(ids) < 100 {
			ids = append(ids, id)
		}
		v = v[open+end+1:]
	}
	return ids
}
