package activities_test

import (
	"bytes"
	"net/mail"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/render"
)

// TestSendStepRecipients sends an invoice and a reminder to a customer with
// contact persons, through the real sending activity and sender, and reads
// what the loopback SMTP server received: the envelope (RCPT TO) holds the
// role's contact, the contact in copy and the administration's archive
// address; the headers name the first two (To, Cc) and the Reply-To, never
// the archive (no Bcc header); the outbox row records all three; and the
// admin's text colour reaches the HTML part.
func TestSendStepRecipients(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		const archive, replyTo = "archive@acme.example", "inbox@acme.example"
		require.NoError(t, gdb.Model(&e.adm).Updates(map[string]any{"bcc_email": archive, "reply_to_email": replyTo}).Error)
		// The admin's invoice email, saved through the sanitizer as the API saves it.
		require.NoError(t, gdb.Create(&models.Template{AdministrationID: e.adm.ID, Name: "default", Kind: "invoice", Channel: "email", Language: "fr",
			Subject: "Facture #invoice_number", Version: 1,
			Body: render.SanitizeEmailBody(`<p>Bonjour,</p><p><span style="color: #c00000; font-size: 30px">Montant dû : <b>#total_due</b></span></p><p><a href="#portal_link">Payer</a></p>`)}).Error)

		c, inv := e.customer(nil)
		billing := models.Contact{CustomerID: c.ID, Name: "Anne Compta", Email: "compta@client.example", Roles: models.ContactRoles{policy.RoleBilling}, Source: "api"}
		ap := models.Contact{CustomerID: c.ID, Name: "Marc Fournisseurs", Email: "ap@client.example", Roles: models.ContactRoles{policy.RoleReminders, policy.RoleCollection}, Source: "api"}
		daf := models.Contact{CustomerID: c.ID, Name: "Paul Daf", Email: "daf@client.example", Roles: models.ContactRoles{policy.RoleBilling, policy.RoleReminders}, CC: true, Source: "api"}
		for _, ct := range []*models.Contact{&billing, &ap, &daf} {
			require.NoError(t, gdb.Create(ct).Error)
		}

		for _, tc := range []struct {
			kind   policy.StepKind
			to     models.Contact
			colour bool
		}{{policy.StepInvoice, billing, true}, {policy.StepReminder, ap, false}} {
			in := e.input(c, inv, tc.kind)
			in.Key += "/recipients"
			before := len(e.smtp.Messages())
			res, err := e.send(in)
			require.NoError(t, err)
			require.True(t, res.Sent)
			msgs := e.smtp.Messages()
			require.Len(t, msgs, before+1)
			got := msgs[len(msgs)-1]

			// The envelope: every recipient, the blind copy included.
			require.ElementsMatch(t, []string{tc.to.Email, daf.Email, archive}, got.EnvelopeTo)
			require.Equal(t, 0, e.mailsTo(c.Email), "the customer's own address is the fallback, not a recipient here")

			// The headers: To and Cc with the contacts' names, Reply-To;
			// the archive address nowhere.
			m, err := mail.ReadMessage(bytes.NewReader(got.Raw))
			require.NoError(t, err)
			to, err := m.Header.AddressList("To")
			require.NoError(t, err)
			require.Equal(t, []*mail.Address{{Name: tc.to.Name, Address: tc.to.Email}}, to)
			cc, err := m.Header.AddressList("Cc")
			require.NoError(t, err)
			require.Equal(t, []*mail.Address{{Name: daf.Name, Address: daf.Email}}, cc)
			rt, err := m.Header.AddressList("Reply-To")
			require.NoError(t, err)
			require.Equal(t, replyTo, rt[0].Address)
			require.Empty(t, m.Header.Get("Bcc"))
			head, _, _ := bytes.Cut(got.Raw, []byte("\r\n\r\n"))
			// No Bcc header line (the random MIME boundary may hold "bcc").
			require.NotRegexp(t, `(?im)^bcc\s*:`, string(head))
			require.NotContains(t, string(got.Raw), archive, "a blind copy is in no header and no part")

			// The outbox records who it went to.
			rows := e.rowsByKey(in.Key + "/email")
			require.Len(t, rows, 1)
			row := rows[0]
			require.Equal(t, models.AddressList{tc.to.Email}, row.To)
			require.Equal(t, models.AddressList{daf.Email}, row.Cc)
			require.Equal(t, models.AddressList{archive}, row.Bcc)
			require.Equal(t, tc.to.Email, row.Recipient)

			if tc.colour {
				require.Contains(t, got.HTML, `<span style="color:#C00000;">Montant dû : </span>`)
				require.NotContains(t, got.HTML, "font-size:30px")
			}
		}
	})
}

// rowsByKey loads the outbox row of one key.
func (e *sendEnv) rowsByKey(key string) []models.Message {
	e.t.Helper()
	var out []models.Message
	require.NoError(e.t, e.db.Where("key = ?", key).Find(&out).Error)
	return out
}
