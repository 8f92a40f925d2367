package email_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels/email"
)

// The IDs email.MessageID gives the originals of the fixtures.
const (
	postfixID  = "<9ead096d971d916b95b6f4f750b2f528@acme.example>"
	eximID     = "<2797172e6ed89f66004c229a848484a9@boulangerie-martin.example>"
	exchangeID = "<64ac0f5b153f575566a21cfcde710965@acme.example>"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "dsn", name))
	require.NoError(t, err)
	return string(b)
}

var postfixDSN = email.DSN{
	MessageID:    postfixID,
	ReportingMTA: "mail.acme.example",
	Recipients: []email.DSNRecipient{{
		FinalRecipient:    "jean.dupont@client-durand.example",
		OriginalRecipient: "jean.dupont@client-durand.example",
		Action:            email.ActionFailed,
		Status:            "5.1.1",
		DiagnosticCode:    "550 5.1.1 <jean.dupont@client-durand.example>: Recipient address rejected: User unknown in virtual mailbox table",
		RemoteMTA:         "mx1.client-durand.example",
	}},
}

func TestParseDSNFixtures(t *testing.T) {
	require.Equal(t, postfixID, email.MessageID("invoice:1:F-2026-0042/10/reminder/email", "factures@acme.example"))
	for _, tc := range []struct {
		file string
		want email.DSN
	}{
		{"postfix_5.1.1_unknown_user.eml", postfixDSN},
		{"exim_5.2.2_mailbox_full.eml", email.DSN{
			MessageID:    eximID,
			ReportingMTA: "mx.hebergeur.example",
			Recipients: []email.DSNRecipient{{
				FinalRecipient: "achats@restaurant-lebon.example",
				Action:         email.ActionFailed,
				Status:         "5.2.2",
				DiagnosticCode: "552 5.2.2 <achats@restaurant-lebon.example>: Mailbox full, quota exceeded",
				RemoteMTA:      "mx.restaurant-lebon.example",
			}},
		}},
		{"exchange_4.4.7_delayed.eml", email.DSN{
			MessageID:    exchangeID,
			ReportingMTA: "AM6PR02MB1234.eurprd02.prod.outlook.com",
			Recipients: []email.DSNRecipient{{
				FinalRecipient:    "sophie.bernard@martin-sarl.example",
				OriginalRecipient: "sophie.bernard@martin-sarl.example",
				Action:            email.ActionDelayed,
				Status:            "4.4.7",
				DiagnosticCode:    "400 4.4.7 Message delayed",
			}},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := email.ParseDSN(strings.NewReader(fixture(t, tc.file)))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseDSNRefusesOtherMessages(t *testing.T) {
	for _, tc := range []struct {
		name, raw, reason string
	}{
		{"an out-of-office auto-reply", fixture(t, "outlook_autoreply.eml"), "content type multipart/alternative"},
		{"a read receipt (MDN)", fixture(t, "thunderbird_read_receipt.eml"), `report of type "disposition-notification"`},
		{"a plain message", "From: a@b.example\nSubject: hello\n\nI paid yesterday.\n", "content type text/plain"},
		{"an empty body", "", "unreadable message header"},
		{"not a message at all", "%PDF-1.7\n\x00\x01binary", "unreadable message header"},
		{"a report without recipient blocks", replacePart(t, fixture(t, "postfix_5.1.1_unknown_user.eml"),
			"Reporting-MTA: dns; mail.acme.example\nArrival-Date: Thu, 15 Jan 2026 10:04:05 +0100 (CET)\n"), "no recipient block"},
		{"a recipient block without an Action", replacePart(t, fixture(t, "postfix_5.1.1_unknown_user.eml"),
			"Reporting-MTA: dns; mail.acme.example\n\nFinal-Recipient: rfc822; a@b.example\nStatus: 5.1.1\n"), "has an Action"},
		{"a report without a delivery-status part", strings.Replace(fixture(t, "postfix_5.1.1_unknown_user.eml"),
			"Content-Type: message/delivery-status", "Content-Type: text/plain", 1), "no message/delivery-status part"},
		{"a report without a boundary", "Content-Type: multipart/report; report-type=delivery-status\n\nx\n", "without a boundary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := email.ParseDSN(strings.NewReader(tc.raw))
			require.Error(t, err)
			require.ErrorIs(t, err, email.ErrNotDSN)
			require.Contains(t, err.Error(), tc.reason)
		})
	}
}

// TestParseDSNReadError: a failing reader (a body over the HTTP limit) is
// reported as such, not as "not a DSN".
func TestParseDSNReadError(t *testing.T) {
	boom := errors.New("http: request body too large")
	raw := fixture(t, "postfix_5.1.1_unknown_user.eml")
	_, err := email.ParseDSN(iotest.ErrReader(boom))
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, email.ErrNotDSN)
	// Cut off inside the status part.
	cut := strings.Index(raw, "Action: failed")
	_, err = email.ParseDSN(ioMultiErr(raw[:cut], boom))
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, email.ErrNotDSN)
}

// ioMultiErr reads s, then fails with err.
func ioMultiErr(s string, err error) *errAfter { return &errAfter{r: strings.NewReader(s), err: err} }

type errAfter struct {
	r   *strings.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.r.Len() == 0 {
		return 0, e.err
	}
	return e.r.Read(p)
}

// statusBody is the delivery-status part of the Postfix fixture.
const statusStart = "Content-Type: message/delivery-status\n\n"

func statusBody(t testing.TB, raw string) string {
	t.Helper()
	i := strings.Index(raw, statusStart)
	require.GreaterOrEqual(t, i, 0)
	rest := raw[i+len(statusStart):]
	j := strings.Index(rest, "\n--4XkQ2D0Vb6z9sWj")
	require.GreaterOrEqual(t, j, 0)
	return rest[:j]
}

// replacePart replaces the delivery-status body of the Postfix fixture.
func replacePart(t testing.TB, raw, body string) string {
	return strings.Replace(raw, statusStart+statusBody(t, raw), statusStart+body, 1)
}

// encodePart gives the Postfix fixture's delivery-status part a transfer encoding.
func encodePart(t testing.TB, raw, enc string) string {
	t.Helper()
	body := statusBody(t, raw)
	var b bytes.Buffer
	switch enc {
	case "base64":
		s := base64.StdEncoding.EncodeToString([]byte(body))
		for len(s) > 76 {
			b.WriteString(s[:76] + "\n")
			s = s[76:]
		}
		b.WriteString(s)
	case "quoted-printable":
		w := quotedprintable.NewWriter(&b)
		_, err := w.Write([]byte(strings.ReplaceAll(body, "\n    ", "\n\t"))) // tabs become =09
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	return strings.Replace(raw, statusStart+body,
		"Content-Type: message/delivery-status\nContent-Transfer-Encoding: "+enc+"\n\n"+b.String(), 1)
}

// forward wraps raw the way a provider forwards a message: as a
// message/rfc822 attachment of a multipart/mixed message of its own.
func forward(raw, attachmentEncoding string) string {
	body := raw
	if attachmentEncoding == "base64" {
		body = base64.StdEncoding.EncodeToString([]byte(raw))
	}
	return "From: forwarder@provider.example\nTo: hook@relance.example\nSubject: Fwd: bounce\n" +
		"In-Reply-To: <unrelated-thread@provider.example>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"outer-boundary\"\n\n" +
		"--outer-boundary\nContent-Type: text/plain\n\nForwarded bounce below.\n" +
		"--outer-boundary\nContent-Type: message/rfc822\nContent-Transfer-Encoding: " + attachmentEncoding + "\n\n" +
		body + "\n--outer-boundary--\n"
}

func TestParseDSNVariants(t *testing.T) {
	raw := fixture(t, "postfix_5.1.1_unknown_user.eml")
	noOriginal := raw[:strings.Index(raw, "--4XkQ2D0Vb6z9sWj.1768467847/mail.acme.example\nContent-Description: Undelivered Message")] +
		"--4XkQ2D0Vb6z9sWj.1768467847/mail.acme.example--\n"
	withHeader := func(s, field string) string {
		return strings.Replace(s, "Subject: Undelivered Mail Returned to Sender\n", "Subject: Undelivered Mail Returned to Sender\n"+field+"\n", 1)
	}
	lower := replacePart(t, raw, strings.NewReplacer(
		"Final-Recipient:", "final-recipient:", "Action:", "ACTION:", "Status:", "status:",
		"Diagnostic-Code:", "diagnostic-code:", "Reporting-MTA:", "reporting-mta:").Replace(statusBody(t, raw)))
	lower = strings.Replace(lower, "Message-ID: <9ead", "message-id: <9ead", 1)
	lower = strings.Replace(lower, "Content-Type: multipart/report", "content-type: multipart/report", 1)

	for _, tc := range []struct {
		name string
		raw  string
		// id is the expected MessageID when it differs from postfixID.
		id string
	}{
		{"LF line ends", raw, ""},
		{"CRLF line ends", strings.ReplaceAll(raw, "\n", "\r\n"), ""},
		{"field names in any case", lower, ""},
		{"base64 delivery-status part", encodePart(t, raw, "base64"), ""},
		{"quoted-printable delivery-status part", encodePart(t, raw, "quoted-printable"), ""},
		{"base64 with CRLF", strings.ReplaceAll(encodePart(t, raw, "base64"), "\n", "\r\n"), ""},
		{"forwarded as an attachment", forward(raw, "8bit"), ""},
		{"forwarded as a base64 attachment", forward(raw, "base64"), ""},
		{"forwarded twice", forward(forward(raw, "8bit"), "base64"), ""},
		{"mbox From line in front", "From MAILER-DAEMON  Thu Jan 15 10:04:07 2026\n" + raw, ""},
		{"no original: In-Reply-To of the DSN", withHeader(noOriginal, "In-Reply-To: <"+strings.Trim(postfixID, "<>")+">"), ""},
		{"no original: last of References", withHeader(noOriginal, "References: <first@thread.example>\n <"+strings.Trim(postfixID, "<>")+">"), ""},
		{"no original, no reference", noOriginal, "-"},
		{"original ID without brackets", strings.Replace(raw, "Message-ID: "+postfixID, "Message-ID: "+strings.Trim(postfixID, "<>"), 1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := email.ParseDSN(strings.NewReader(tc.raw))
			require.NoError(t, err)
			want := postfixDSN
			switch tc.id {
			case "":
			case "-":
				want.MessageID = ""
			default:
				want.MessageID = tc.id
			}
			require.Equal(t, want, got)
		})
	}
}

func TestParseDSNSeveralRecipients(t *testing.T) {
	raw := replacePart(t, fixture(t, "postfix_5.1.1_unknown_user.eml"), `Reporting-MTA: dns; mail.acme.example

Final-Recipient: rfc822; <a@one.example>
Action: failed (permanent)
Status: 5.7.1 (delivery not authorized)
Diagnostic-Code: X-Postfix; host mx.one.example said: 554 5.7.1 rejected


Final-Recipient: rfc822; b@two.example
Action: delivered
Status: 2.0.0
`)
	got, err := email.ParseDSN(strings.NewReader(raw))
	require.NoError(t, err)
	require.Len(t, got.Recipients, 2)
	require.Equal(t, email.DSNRecipient{FinalRecipient: "a@one.example", Action: email.ActionFailed, Status: "5.7.1",
		DiagnosticCode: "host mx.one.example said: 554 5.7.1 rejected"}, got.Recipients[0])
	require.Equal(t, email.DSNRecipient{FinalRecipient: "b@two.example", Action: email.ActionDelivered, Status: "2.0.0"}, got.Recipients[1])
}

// TestParseDSNCleansValues: a diagnostic in a legacy charset or with
// control characters comes out as valid UTF-8 on one line.
func TestParseDSNCleansValues(t *testing.T) {
	raw := replacePart(t, fixture(t, "postfix_5.1.1_unknown_user.eml"),
		"Reporting-MTA: dns; mail.acme.example\n\nFinal-Recipient: rfc822; a@b.example\nAction: Failed\nStatus: 5.2.2\n"+
			"Diagnostic-Code: smtp; 552 Bo\xeete\x00 pleine\x1b[31m\n")
	got, err := email.ParseDSN(strings.NewReader(raw))
	require.NoError(t, err)
	require.Len(t, got.Recipients, 1)
	require.Equal(t, email.ActionFailed, got.Recipients[0].Action)
	require.Equal(t, "552 Bo\uFFFDte pleine [31m", got.Recipients[0].DiagnosticCode)
}

var statusRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)
var idRE = regexp.MustCompile(`^<[!-;=?-~]+@[!-;=?-~]+>$`)

// FuzzParseDSN: whatever the input, ParseDSN does not panic, every refusal
// is ErrNotDSN (the input is in memory, so nothing else can fail), and what
// it accepts keeps its promises: at least one recipient with an Action, a
// Message-ID with its brackets or none, a status code that reads as one,
// values on one line in valid UTF-8.
func FuzzParseDSN(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "dsn"))
	require.NoError(f, err)
	for _, e := range entries {
		raw := fixture(f, e.Name())
		f.Add(raw)
		f.Add(forward(raw, "base64"))
	}
	raw := fixture(f, "postfix_5.1.1_unknown_user.eml")
	f.Add(encodePart(f, raw, "base64"))
	f.Add(encodePart(f, raw, "quoted-printable"))
	f.Add(strings.ReplaceAll(raw, "\n", "\r\n"))
	f.Add(replacePart(f, raw, "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\nAction: failed\nDiagnostic-Code: smtp; Bo\xeete\x00\n"))
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := email.ParseDSN(strings.NewReader(raw))
		if err != nil {
			require.ErrorIs(t, err, email.ErrNotDSN)
			return
		}
		require.NotEmpty(t, got.Recipients)
		hasAction := false
		for _, r := range got.Recipients {
			hasAction = hasAction || r.Action != ""
			require.Equal(t, strings.ToLower(r.Action), r.Action)
			if r.Status != "" {
				require.Regexp(t, statusRE, r.Status)
			}
			for _, v := range []string{r.FinalRecipient, r.OriginalRecipient, r.Action, r.DiagnosticCode, r.RemoteMTA} {
				// Values go to logs and database columns as they are.
				require.True(t, utf8.ValidString(v), "%q", v)
				require.False(t, strings.ContainsAny(v, "\x00\r\n\t"), "%q", v)
			}
		}
		require.True(t, hasAction)
		if got.MessageID != "" {
			require.Regexp(t, idRE, got.MessageID)
		}
	})
}
