package email_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels/email"
)

func TestParseReplyMultipart(t *testing.T) {
	raw, err := os.ReadFile("testdata/replies/multipart.eml")
	require.NoError(t, err)
	r, err := email.ParseReply(bytes.NewReader(raw), email.DefaultReplyLimits)
	require.NoError(t, err)
	require.Equal(t, "francois@durand.example", r.From)
	require.Equal(t, "François Durand", r.FromName)
	require.Equal(t, []string{"factures@acme.example"}, r.To)
	require.Equal(t, "Re: Rappel – facture F-1", r.Subject)
	require.Equal(t, "<reply-1@durand.example>", r.MessageID)
	require.Equal(t, []string{"<0123456789abcdef0123456789abcdef@acme.example>"}, r.InReplyTo)
	require.Equal(t, []string{"<older@acme.example>", "<0123456789abcdef0123456789abcdef@acme.example>"}, r.References)
	// The plain alternative wins over the HTML one.
	require.True(t, strings.HasPrefix(r.Text, "Bonjour,\n\nJe paierai la facture vendredi, voici la preuve de virement ✓."), r.Text)
	require.Contains(t, r.Text, "Acme a écrit")
	require.Len(t, r.Attachments, 1)
	a := r.Attachments[0]
	require.Equal(t, "virement.pdf", a.FileName)
	require.Equal(t, "application/pdf", a.ContentType)
	require.True(t, bytes.HasPrefix(a.Data, []byte("%PDF-1.4")))
	require.EqualValues(t, len(a.Data), a.Size)
	require.Empty(t, a.Refused)
	require.Len(t, r.SHA256, 64)

	// The same email piped again hashes the same.
	again, err := email.ParseReply(bytes.NewReader(raw), email.DefaultReplyLimits)
	require.NoError(t, err)
	require.Equal(t, r.SHA256, again.SHA256)
}

func TestParseReplyHTMLOnly(t *testing.T) {
	raw, err := os.ReadFile("testdata/replies/htmlonly.eml")
	require.NoError(t, err)
	r, err := email.ParseReply(bytes.NewReader(raw), email.DefaultReplyLimits)
	require.NoError(t, err)
	require.Equal(t, "Café ou thé?\nFacture F-9", r.Text, "the HTML is read as text, the script dropped")
	require.Empty(t, r.InReplyTo)
	require.Empty(t, r.Attachments)
}

func TestParseReplyLimits(t *testing.T) {
	raw, err := os.ReadFile("testdata/replies/multipart.eml")
	require.NoError(t, err)
	r, err := email.ParseReply(bytes.NewReader(raw), email.ReplyLimits{MaxText: 20, MaxAttachment: 10, MaxAttachments: 5})
	require.NoError(t, err)
	require.Equal(t, "Bonjour,\n\nJe paierai"+email.TruncatedMark, r.Text)
	require.Len(t, r.Attachments, 1)
	require.Nil(t, r.Attachments[0].Data)
	require.Greater(t, r.Attachments[0].Size, int64(10), "the size is counted though the bytes are refused")
	require.Contains(t, r.Attachments[0].Refused, "larger than the 10 bytes")

	// Beyond MaxAttachments, attachments are only counted.
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
	for i := 0; i < 4; i++ {
		b.WriteString("--x\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"../../etc/p.png\"\r\n\r\nPNG\r\n")
	}
	b.WriteString("--x--\r\n")
	r, err = email.ParseReply(strings.NewReader(b.String()), email.ReplyLimits{MaxAttachments: 3})
	require.NoError(t, err)
	require.Len(t, r.Attachments, 3)
	require.Equal(t, 1, r.DroppedAttachments)
	require.Equal(t, "p.png", r.Attachments[0].FileName, "no directory is kept from a file name")
}

func TestParseReplyBadInput(t *testing.T) {
	for name, raw := range map[string]string{
		"empty":              "",
		"no header":          "just some text without a colon\r\n",
		"no from":            "Subject: hi\r\n\r\nbody\r\n",
		"unreadable from":    "From: <<<\r\n\r\nbody\r\n",
		"multipart no bound": "From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nbody\r\n",
		"multipart no part":  "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\nno parts here\r\n",
		"broken base64":      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--x--\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := email.ParseReply(strings.NewReader(raw), email.DefaultReplyLimits)
			require.ErrorIs(t, err, email.ErrNotMail)
		})
	}
	t.Run("nested too deep", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: a@example.com\r\n")
		for i := 0; i < 12; i++ {
			b.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('a'+i)) + "\r\n\r\n--b" + string(rune('a'+i)) + "\r\n")
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nhi\r\n")
		_, err := email.ParseReply(strings.NewReader(b.String()), email.DefaultReplyLimits)
		require.ErrorIs(t, err, email.ErrNotMail)
	})
	t.Run("reader failure", func(t *testing.T) {
		boom := errors.New("body over the limit")
		_, err := email.ParseReply(&failingReader{data: []byte("From: a@example.com\r\nSubject: x\r\n\r\nbody"), err: boom}, email.DefaultReplyLimits)
		require.ErrorIs(t, err, boom)
		require.NotErrorIs(t, err, email.ErrNotMail)
	})
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// FuzzParseReply: any input is either an email or ErrNotMail, never a
// panic, and what is kept stays within the limits.
func FuzzParseReply(f *testing.F) {
	for _, name := range []string{"testdata/replies/multipart.eml", "testdata/replies/htmlonly.eml"} {
		raw, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Add([]byte("From: a@example.com\r\nContent-Type: multipart/alternative; boundary=q\r\n\r\n--q\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--q--\r\n"))
	f.Add([]byte("From a@b Mon Jan  1 00:00:00 2026\nFrom: a@b.c\nIn-Reply-To: <x@y>\n\nhi"))
	lim := email.ReplyLimits{MaxText: 256, MaxAttachment: 128, MaxAttachments: 4}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := email.ParseReply(bytes.NewReader(raw), lim)
		if err != nil {
			require.ErrorIs(t, err, email.ErrNotMail)
			return
		}
		require.NotEmpty(t, r.From)
		require.LessOrEqual(t, len(r.Text), lim.MaxText+len(email.TruncatedMark))
		require.LessOrEqual(t, len(r.Attachments), lim.MaxAttachments)
		for _, a := range r.Attachments {
			require.LessOrEqual(t, int64(len(a.Data)), lim.MaxAttachment)
			require.LessOrEqual(t, len(a.FileName), 255)
		}
		for _, id := range append(r.InReplyTo, r.References...) {
			require.True(t, strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">"), id)
		}
	})
}
