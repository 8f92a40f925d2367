package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// TestSendStepHeldForMissingDetails: an administration without bank details
// does not send "transfer to:" followed by nothing. The step is skipped with
// company_details_missing, the invoice is listed for attention, the
// administration says which fields to fill in; once filled in, the next
// step goes out and the flag is gone.
func TestSendStepHeldForMissingDetails(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		require.NoError(t, gdb.Model(&models.Administration{}).Where("id = ?", e.adm.ID).
			Updates(map[string]any{"bank_details": "", "user_phone": ""}).Error)
		c, inv := e.customer(nil)
		in := e.input(c, inv, policy.StepReminder)
		res, err := e.send(in)
		require.NoError(t, err)
		require.True(t, res.Skipped)
		require.False(t, res.Sent)
		require.Equal(t, "company_details_missing", res.Reason)
		require.Zero(t, e.mailsTo(c.Email), "nothing sent blank")
		row := e.rows(in)["email"]
		require.Equal(t, models.MessageSkipped, row.State)
		require.Equal(t, "company_details_missing", row.Reason)
		require.NoError(t, gdb.First(&inv, inv.ID).Error)
		require.Equal(t, "company_details_missing", inv.AttentionReason)
		var adm models.Administration
		require.NoError(t, gdb.First(&adm, e.adm.ID).Error)
		require.Equal(t, "bank_details,user_phone", adm.DetailsMissing)

		// A manual action whose edited text needs no detail goes out.
		manual := e.input(c, inv, policy.StepReminder)
		manual.Key, manual.Manual, manual.Subject, manual.Body = manual.Key+"/manual", true, "Relance", "Merci de régler #invoice_number : #portal_link"
		res, err = e.send(manual)
		require.NoError(t, err)
		require.True(t, res.Sent, "%+v", res)

		// Filled in through the application service: the flag clears and
		// the next step is sent.
		bank, phone := "IBAN FR76 3000 6000 0112 3456 7890 189", "+33 1 23 45 67 89"
		_, err = app.New(app.Options{DB: gdb}).UpdateAdministration(context.Background(), e.adm.OrganizationID, e.adm.ID,
			domain.AdministrationInput{BankDetails: &bank, UserPhone: &phone})
		require.NoError(t, err)
		require.NoError(t, gdb.First(&adm, e.adm.ID).Error)
		require.Empty(t, adm.DetailsMissing)
		next := e.input(c, inv, policy.StepFinalReminder)
		res, err = e.send(next)
		require.NoError(t, err)
		require.True(t, res.Sent, "%+v", res)
		require.NoError(t, gdb.First(&inv, inv.ID).Error)
		require.Empty(t, inv.AttentionReason)
	})
}
