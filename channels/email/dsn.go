package email

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
)

// Bounces that arrive after the SMTP session are delivery status
// notifications (DSN, RFC 3464): a multipart/report (RFC 6522) whose second
// part, message/delivery-status, holds one block of fields per recipient and
// whose third part is the original message or its headers. ParseDSN reads
// them with the standard library only (net/mail, mime, mime/multipart,
// mime/quotedprintable, net/textproto): it is the best-kept MIME parser in Go,
// maintained with the language and fuzzed upstream, and a DSN needs nothing
// it lacks; the DSN-specific part is a few lines of field reading here.

// Actions a DSN gives per recipient (RFC 3464 §2.3.3).
const (
	// ActionFailed: the message could not be delivered and will not be (a bounce).
	ActionFailed = "failed"
	// ActionDelayed: delivery is still being tried; a final report may follow.
	ActionDelayed = "delayed"
	// ActionDelivered: the message reached the recipient's mailbox.
	ActionDelivered = "delivered"
	// ActionRelayed: the message went on to a system that sends no DSNs.
	ActionRelayed = "relayed"
	// ActionExpanded: delivered to a list or alias that forwarded it further.
	ActionExpanded = "expanded"
)

// ErrNotDSN is returned, wrapped with the reason, by ParseDSN for a message
// that is not a delivery status notification (an auto-reply, a read
// receipt, a human's answer) or is too broken to read one from.
var ErrNotDSN = errors.New("not a delivery status notification")

// DSN is what Relance needs from a delivery status notification: which
// message it is about and what happened to each recipient.
type DSN struct {
	// MessageID is the Message-ID of the original message, with its angle
	// brackets ("<…@…>"), taken from the report's third part, else from the
	// DSN's own In-Reply-To or References; empty when none is given.
	MessageID string `json:"message_id"`
	// ReportingMTA is the host that wrote the report (for the logs).
	ReportingMTA string `json:"reporting_mta,omitempty"`
	// Recipients holds one entry per recipient block, in order; never empty.
	Recipients []DSNRecipient `json:"recipients"`
}

// DSNRecipient is one per-recipient block of a DSN.
type DSNRecipient struct {
	// FinalRecipient is the address the report is about, without its type
	// ("rfc822;") or angle brackets.
	FinalRecipient string `json:"final_recipient"`
	// OriginalRecipient is the address as first given, when reported.
	OriginalRecipient string `json:"original_recipient,omitempty"`
	// Action is failed, delayed, delivered, relayed or expanded, lower-case
	// (another value is kept as given, lower-cased).
	Action string `json:"action"`
	// Status is the enhanced status code (RFC 3463), e.g. "5.1.1"; empty when
	// the report has none that reads as one.
	Status string `json:"status,omitempty"`
	// DiagnosticCode is the remote server's answer, without its type
	// ("smtp;"), on one line.
	DiagnosticCode string `json:"diagnostic_code,omitempty"`
	// RemoteMTA is the server that gave the answer, when reported.
	RemoteMTA string `json:"remote_mta,omitempty"`
}

// Bounds on what ParseDSN reads, so that a hostile or broken message cannot
// make it recurse or buffer without end.
const (
	maxDSNDepth      = 8       // nested multipart and message/rfc822 levels
	maxDSNParts      = 64      // MIME parts visited in all
	maxStatusBytes   = 1 << 20 // the message/delivery-status part
	maxOrigHeaderLen = 1 << 20 // the original message's header
)

// ParseDSN reads a raw RFC 5322 message, as an MTA pipes it or a mail
// provider forwards it, and returns the delivery status notification in it.
// The report may be the message itself or sit inside multipart wrappers or
// a forwarded message/rfc822 attachment; CRLF or LF line ends, folded
// fields, quoted-printable or base64 parts and field names in any case are
// read. An mbox "From " line in front (Postfix pipe with flag F) is skipped.
// A message that holds no DSN returns an error wrapping ErrNotDSN; a
// failure of r itself is returned wrapped as it is (e.g. an
// *http.MaxBytesError).
func ParseDSN(r io.Reader) (DSN, error) {
	src := &recordingReader{r: r}
	br := bufio.NewReader(src)
	skipEnvelopeLines(br)
	msg, err := mail.ReadMessage(br)
	if src.err != nil {
		return DSN{}, fmt.Errorf("email: read DSN: %w", src.err)
	}
	if err != nil {
		return DSN{}, fmt.Errorf("%w: unreadable message header: %v", ErrNotDSN, err)
	}
	w := &dsnWalker{}
	hdr := textproto.MIMEHeader(msg.Header)
	dsn, found, err := w.find(hdr, msg.Body, hdr, 0)
	if src.err != nil {
		return DSN{}, fmt.Errorf("email: read DSN: %w", src.err)
	}
	if err != nil {
		return DSN{}, err
	}
	if !found {
		why := w.why
		if why == "" {
			ct, _ := mediaType(hdr.Get("Content-Type"))
			why = "content type " + ct
		}
		return DSN{}, fmt.Errorf("%w: %s, where a multipart/report with report-type=delivery-status is expected", ErrNotDSN, why)
	}
	return dsn, nil
}

// dsnWalker searches a MIME tree for the report.
type dsnWalker struct {
	parts int
	// why is the last reason a candidate part was not a DSN, for the error.
	why string
}

// find looks for the report in the entity (h, body); msgHdr is the header of
// the innermost message holding the entity (for the In-Reply-To fallback).
func (w *dsnWalker) find(h textproto.MIMEHeader, body io.Reader, msgHdr textproto.MIMEHeader, depth int) (DSN, bool, error) {
	if depth > maxDSNDepth {
		w.why = "MIME parts nested too deep"
		return DSN{}, false, nil
	}
	mt, params := mediaType(h.Get("Content-Type"))
	body = decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	switch {
	case mt == "multipart/report":
		rt := strings.ToLower(strings.TrimSpace(params["report-type"]))
		if rt != "delivery-status" && rt != "global-delivery-status" {
			w.why = fmt.Sprintf("a multipart/report of type %q (not delivery-status)", params["report-type"])
			return DSN{}, false, nil
		}
		dsn, err := w.report(body, params["boundary"], msgHdr)
		return dsn, err == nil, err
	case strings.HasPrefix(mt, "multipart/"):
		if params["boundary"] == "" {
			w.why = mt + " without a boundary"
			return DSN{}, false, nil
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			if w.parts++; w.parts > maxDSNParts {
				w.why = "too many MIME parts"
				return DSN{}, false, nil
			}
			part, err := mr.NextRawPart()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					w.why = fmt.Sprintf("malformed %s: %v", mt, err)
				}
				return DSN{}, false, nil
			}
			dsn, found, err := w.find(part.Header, part, msgHdr, depth+1)
			if found || err != nil {
				return dsn, found, err
			}
		}
	case mt == "message/rfc822" || mt == "message/global":
		// A DSN forwarded as an attachment: its own header is the one
		// whose In-Reply-To counts.
		inner, err := mail.ReadMessage(bufio.NewReader(body))
		if err != nil {
			w.why = fmt.Sprintf("unreadable attached message: %v", err)
			return DSN{}, false, nil
		}
		ih := textproto.MIMEHeader(inner.Header)
		return w.find(ih, inner.Body, ih, depth+1)
	}
	return DSN{}, false, nil
}

// report reads the parts of a multipart/report of type delivery-status. It
// stops once it has the status fields and the original Message-ID, so the
// original message's body (which can be large) is not read.
func (w *dsnWalker) report(body io.Reader, boundary string, msgHdr textproto.MIMEHeader) (DSN, error) {
	if boundary == "" {
		return DSN{}, fmt.Errorf("%w: multipart/report without a boundary", ErrNotDSN)
	}
	var dsn DSN
	var groups []map[string]string
	haveStatus := false
	mr := multipart.NewReader(body, boundary)
	for !haveStatus || dsn.MessageID == "" {
		if w.parts++; w.parts > maxDSNParts {
			break
		}
		part, err := mr.NextRawPart()
		if err != nil {
			if errors.Is(err, io.EOF) || haveStatus {
				break // a truncated original after the status part is fine
			}
			return DSN{}, fmt.Errorf("%w: malformed multipart/report: %v", ErrNotDSN, err)
		}
		mt, _ := mediaType(part.Header.Get("Content-Type"))
		pb := decodeTransfer(part.Header.Get("Content-Transfer-Encoding"), part)
		switch mt {
		case "message/delivery-status", "message/global-delivery-status":
			if !haveStatus {
				groups, haveStatus = readFieldGroups(io.LimitReader(pb, maxStatusBytes)), true
			}
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			if dsn.MessageID == "" {
				dsn.MessageID = originalMessageID(io.LimitReader(pb, maxOrigHeaderLen))
			}
		}
	}
	if !haveStatus {
		return DSN{}, fmt.Errorf("%w: the multipart/report has no message/delivery-status part", ErrNotDSN)
	}
	for _, g := range groups {
		if g["reporting-mta"] != "" && dsn.ReportingMTA == "" {
			dsn.ReportingMTA = typedValue(g["reporting-mta"])
		}
		// A group with recipient fields is a recipient block, even when a
		// sloppy MTA put the per-message fields in it too.
		if g["final-recipient"] == "" && g["action"] == "" {
			continue
		}
		dsn.Recipients = append(dsn.Recipients, DSNRecipient{
			FinalRecipient:    address(typedValue(g["final-recipient"])),
			OriginalRecipient: address(typedValue(g["original-recipient"])),
			Action:            firstWord(g["action"]),
			Status:            statusCode(g["status"]),
			DiagnosticCode:    typedValue(g["diagnostic-code"]),
			RemoteMTA:         typedValue(g["remote-mta"]),
		})
	}
	if len(dsn.Recipients) == 0 {
		return DSN{}, fmt.Errorf("%w: the delivery-status part has no recipient block (Final-Recipient, Action)", ErrNotDSN)
	}
	hasAction := false
	for _, r := range dsn.Recipients {
		hasAction = hasAction || r.Action != ""
	}
	if !hasAction {
		return DSN{}, fmt.Errorf("%w: no recipient block of the delivery-status part has an Action", ErrNotDSN)
	}
	if dsn.MessageID == "" {
		dsn.MessageID = normalizeMessageID(msgHdr.Get("In-Reply-To"))
	}
	if dsn.MessageID == "" {
		dsn.MessageID = lastMessageID(msgHdr.Get("References"))
	}
	return dsn, nil
}

// readFieldGroups reads the blank-line separated blocks of "Name: value"
// fields of a delivery-status body. Folded lines are unfolded, names are
// lower-cased, the first of a repeated field wins, and lines that are not
// fields are skipped (a report is read as far as it makes sense).
func readFieldGroups(r io.Reader) []map[string]string {
	tp := textproto.NewReader(bufio.NewReader(r))
	var groups []map[string]string
	cur := map[string]string{}
	for {
		line, err := tp.ReadContinuedLine()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				groups = append(groups, cur)
				cur = map[string]string{}
			}
		} else if name, value, ok := strings.Cut(line, ":"); ok {
			name = strings.ToLower(strings.TrimSpace(name))
			if _, dup := cur[name]; !dup && name != "" {
				cur[name] = strings.TrimSpace(value)
			}
		}
		if err != nil {
			break
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// originalMessageID reads the Message-ID from the header of the original
// message (a message/rfc822 part, or text/rfc822-headers that may end
// without a blank line).
func originalMessageID(r io.Reader) string {
	tp := textproto.NewReader(bufio.NewReader(r))
	for {
		line, err := tp.ReadContinuedLine()
		if strings.TrimSpace(line) == "" && err == nil {
			return "" // end of the header
		}
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Message-Id") {
			return normalizeMessageID(value)
		}
		if err != nil {
			return ""
		}
	}
}

// normalizeMessageID returns the first msg-id of v with its angle brackets;
// a bare id@host is given brackets; anything else is "".
func normalizeMessageID(v string) string {
	v = strings.TrimSpace(v)
	if open := strings.IndexByte(v, '<'); open >= 0 {
		if end := strings.IndexByte(v[open:], '>'); end > 0 {
			id := strings.TrimSpace(v[open+1 : open+end])
			if validMessageID(id) {
				return "<" + id + ">"
			}
		}
		return ""
	}
	if f := strings.Fields(v); len(f) > 0 && validMessageID(f[0]) {
		return "<" + f[0] + ">"
	}
	return ""
}

// lastMessageID returns the last msg-id of a References field: the message
// the DSN answers.
func lastMessageID(v string) string {
	if end := strings.LastIndexByte(v, '>'); end > 0 {
		if open := strings.LastIndexByte(v[:end], '<'); open >= 0 {
			return normalizeMessageID(v[open : end+1])
		}
	}
	return normalizeMessageID(v)
}

// validMessageID accepts left@right made of printable ASCII without
// spaces or brackets.
func validMessageID(id string) bool {
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || len(id) > 998 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// typedValue strips the type of a typed DSN field ("rfc822; a@b",
// "smtp; 550 …", "dns; mx.example") and puts the rest on one line.
func typedValue(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && isAtom(strings.TrimSpace(t)) {
		v = rest
	}
	return oneLine(v)
}

// oneLine makes v valid UTF-8 on one line: control characters go, runs of
// white space become one space (the values end up in logs and database
// columns).
func oneLine(v string) string {
	v = strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, strings.ToValidUTF8(v, "\uFFFD"))
	return strings.Join(strings.Fields(v), " ")
}

// isAtom reports whether s reads as an address or diagnostic type
// ("rfc822", "smtp", "X-Postfix", "utf-8").
func isAtom(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// address strips angle brackets around an address.
func address(v string) string {
	v = oneLine(v)
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}

// firstWord lower-cases the first word of v, dropping a trailing comment:
// "failed (mailbox full)" is "failed".
func firstWord(v string) string {
	if f := strings.Fields(strings.ToLower(oneLine(v))); len(f) > 0 {
		return strings.TrimRight(f[0], ";,")
	}
	return ""
}

// statusPattern is an enhanced status code (RFC 3463): class.subject.detail.
var statusPattern = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

// statusCode returns the enhanced status code in v ("5.1.1",
// "5.2.2 (mailbox full)"), or "".
func statusCode(v string) string {
	return statusPattern.FindString(v)
}

// mediaType parses a Content-Type; a missing one is text/plain (RFC 2045)
// and an unreadable one application/octet-stream.
func mediaType(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if mt == "" || (err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter)) {
		return "application/octet-stream", map[string]string{}
	}
	if params == nil {
		params = map[string]string{}
	}
	return mt, params
}

// decodeTransfer undoes a Content-Transfer-Encoding; 7bit, 8bit, binary and
// unknown encodings are read as they are.
func decodeTransfer(enc string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		// The decoder skips CR and LF; spaces some mailers leave at line
		// ends are dropped first.
		return base64.NewDecoder(base64.StdEncoding, &dropBlanks{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// dropBlanks removes spaces and tabs from a base64 body.
type dropBlanks struct{ r io.Reader }

func (d *dropBlanks) Read(p []byte) (int, error) {
	for {
		n, err := d.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil || n == 0 {
			return k, err
		}
	}
}

// skipEnvelopeLines drops what an MTA may put before the header: an mbox
// "From sender date" line and blank lines.
func skipEnvelopeLines(br *bufio.Reader) {
	for {
		b, err := br.Peek(5)
		switch {
		case err == nil && string(b) == "From ":
		case len(b) > 0 && (b[0] == '\n' || b[0] == '\r'):
		default:
			return
		}
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
	}
}

// recordingReader keeps the first error of the underlying reader other
// than io.EOF, so that a failed read (a body over the size limit) is not
// mistaken for a malformed message.
type recordingReader struct {
	r   io.Reader
	err error
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && rr.err == nil {
		rr.err = err
	}
	return n, err
}
