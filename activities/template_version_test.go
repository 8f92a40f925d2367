package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/policy"
)

// TestSentMessageRecordsTemplateVersion: an administration's template
// overrides the shipped default, and the outbox row names the version the
// message was written from; a step kind without a template of the
// administration gets the shipped text and rows without a version.
func TestSentMessageRecordsTemplateVersion(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newSendEnv(t, gdb)
		ctx := context.Background()
		svc := app.New(app.Options{DB: gdb})
		tpl, err := svc.CreateTemplate(ctx, &e.adm, domain.TemplateInput{Kind: "reminder", Channel: "email", Language: "fr",
			Subject: "Rappel #invoice_number", Body: "<p>Version une pour #customer_name</p>"})
		require.NoError(t, err)
		require.NoError(t, svc.UpdateTemplate(ctx, tpl, domain.TemplateInput{Subject: "Rappel v2 #invoice_number",
			Body: "<p>Version deux pour <b>#customer_name</b></p>"}))
		require.Equal(t, 2, tpl.Version)

		c, inv := e.customer(nil)
		in := e.input(c, inv, policy.StepReminder)
		res, err := e.send(in)
		require.NoError(t, err)
		require.True(t, res.Sent)
		row := e.rows(in)["email"]
		require.NotNil(t, row.TemplateID)
		require.Equal(t, tpl.ID, *row.TemplateID)
		require.Equal(t, 2, row.TemplateVersion)
		require.Equal(t, "Rappel v2 "+inv.Number, row.Subject)
		require.Contains(t, row.BodyHTML, "Version deux pour <strong>"+c.Name+"</strong>")

		// Another kind has no template of the administration: the shipped
		// default goes, and its rows name no version.
		c2, inv2 := e.customer(nil)
		in2 := e.input(c2, inv2, policy.StepFinalReminder)
		_, err = e.send(in2)
		require.NoError(t, err)
		rows := e.rows(in2)
		require.NotEmpty(t, rows)
		for ch, row := range rows {
			require.Nil(t, row.TemplateID, ch)
			require.Zero(t, row.TemplateVersion, ch)
			require.NotContains(t, row.BodyHTML, "Version deux", ch)
		}
	})
}
