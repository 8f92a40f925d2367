package app_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/app"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/render"
)

// TestBundleTemplates: the bundles' texts are templates like the others
// (listed with their shipped texts, stored, versioned, overridden per
// administration) and may not use the tags about one invoice.
func TestBundleTemplates(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		adm, _ := reconcileFixture(t, gdb)
		other, _ := reconcileFixture(t, gdb)
		svc := app.New(app.Options{DB: gdb, Temporal: deadTemporal(t), Logger: slog.New(slog.DiscardHandler)})
		ctx := context.Background()

		list, err := svc.Templates(ctx, adm.ID)
		require.NoError(t, err)
		require.Len(t, list, len(render.TemplateDefaults()))
		bundles := 0
		for _, tpl := range list {
			if _, ok := render.BundleStep(tpl.Kind); ok {
				bundles++
				require.Equal(t, domain.TemplateShipped, tpl.Source)
			}
		}
		require.Equal(t, len(render.BundleDefaults()), bundles)

		for _, c := range []struct {
			name  string
			in    domain.TemplateInput
			field string
			rule  bool
		}{
			{"invoice tag in the subject", domain.TemplateInput{Kind: "bundle_reminder", Channel: "email", Language: "en", Subject: "#invoice_number", Body: "#items_list"}, "subject", true},
			{"invoice tag in the body", domain.TemplateInput{Kind: "bundle_final_reminder", Channel: "post", Language: "nl", Subject: "S", Body: "#days_overdue dagen"}, "body", true},
			{"invoice tag in an SMS", domain.TemplateInput{Kind: "bundle_sms", Channel: "sms", Language: "fr", Body: "#invoice_amount"}, "body", true},
			{"unknown tag", domain.TemplateInput{Kind: "bundle_sms", Channel: "sms", Language: "fr", Body: "#factures"}, "body", true},
			{"bundle SMS by post", domain.TemplateInput{Kind: "bundle_sms", Channel: "post", Language: "fr", Subject: "S", Body: "#items_list"}, "kind", false},
			{"no bundle of invoices", domain.TemplateInput{Kind: "bundle_invoice", Channel: "email", Language: "fr", Subject: "S", Body: "#items_list"}, "kind", false},
		} {
			_, err := svc.CreateTemplate(ctx, adm, c.in)
			var fe *domain.FieldError
			require.True(t, errors.As(err, &fe), "%s: %v", c.name, err)
			require.Equal(t, c.field, fe.Field, c.name)
			require.Equal(t, c.rule, fe.Rule, c.name)
		}

		tpl, err := svc.CreateTemplate(ctx, adm, domain.TemplateInput{Kind: "bundle_sms", Channel: "sms", Language: "nl",
			Body: "#company_name: #items_list open (#total_due)"})
		require.NoError(t, err)
		require.Equal(t, "default", tpl.Name)
		require.NoError(t, svc.UpdateTemplate(ctx, tpl, domain.TemplateInput{Body: "#items_count facturen open: #portal_home"}))
		require.Equal(t, 2, tpl.Version)
		var fe *domain.FieldError
		require.True(t, errors.As(svc.UpdateTemplate(ctx, tpl, domain.TemplateInput{Body: "#due_date"}), &fe))
		require.True(t, errors.As(svc.UpdateTemplate(ctx, tpl, domain.TemplateInput{Kind: "sms", Body: "x"}), &fe))
		versions, err := svc.TemplateVersions(ctx, tpl)
		require.NoError(t, err)
		require.Len(t, versions, 2)

		list, err = svc.Templates(ctx, adm.ID)
		require.NoError(t, err)
		require.Len(t, list, len(render.TemplateDefaults()), "the override replaces the shipped text")
		var found bool
		for _, e := range list {
			if e.Kind == "bundle_sms" && e.Language == "nl" {
				found = true
				require.Equal(t, tpl.ID, e.ID)
				require.Equal(t, domain.TemplateStored, e.Source)
			}
		}
		require.True(t, found)
		otherList, err := svc.Templates(ctx, other.ID)
		require.NoError(t, err)
		for _, e := range otherList {
			require.Zero(t, e.ID, "another administration keeps the shipped texts")
		}
		_, _, err = svc.Template(ctx, other.OrganizationID, tpl.ID)
		require.ErrorIs(t, err, domain.ErrNotFound)
	})
}
