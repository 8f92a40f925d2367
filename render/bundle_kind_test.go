package render

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBundleKind(t *testing.T) {
	for _, tc := range []struct {
		kind, step string
		ok         bool
	}{
		{"bundle_reminder", "reminder", true},
		{"bundle_final_reminder", "final_reminder", true},
		{"bundle_sms", "sms", true},
		{"bundle_", "", false},
		{"reminder", "", false},
		{"sms", "", false},
	} {
		step, ok := BundleStep(tc.kind)
		require.Equal(t, tc.ok, ok, tc.kind)
		if ok {
			require.Equal(t, tc.step, step, tc.kind)
			require.Equal(t, tc.kind, BundleKind(step))
		}
	}
}

func TestTemplateDefaults(t *testing.T) {
	all := TemplateDefaults()
	require.Len(t, all, len(Defaults())+len(BundleDefaults()))
	seen := map[string]bool{}
	bundles := 0
	for _, tpl := range all {
		key := tpl.Kind + "/" + tpl.Channel + "/" + tpl.Language
		require.False(t, seen[key], "duplicate %s", key)
		seen[key] = true
		got, ok := TemplateDefault(tpl.Kind, tpl.Channel, tpl.Language)
		require.True(t, ok, key)
		require.Equal(t, tpl, got, key)
		require.NoError(t, ValidateKind(tpl.Kind, tpl.Subject), key)
		require.NoError(t, ValidateKind(tpl.Kind, tpl.Body), key)
		if step, ok := BundleStep(tpl.Kind); ok {
			bundles++
			b, ok := DefaultBundle(step, tpl.Channel, tpl.Language)
			require.True(t, ok, key)
			require.Equal(t, b.Body, tpl.Body, key)
			require.Equal(t, b.Subject, tpl.Subject, key)
		}
	}
	require.Equal(t, 5*len(languages), bundles, "reminder and final reminder by email and post, sms by SMS, per language")
	for _, key := range [][3]string{{"bundle_reminder", "sms", "en"}, {"bundle_invoice", "email", "en"}, {"bundle_collection", "post", "nl"}, {"nope", "email", "en"}} {
		_, ok := TemplateDefault(key[0], key[1], key[2])
		require.False(t, ok, "%v", key)
	}
	nl, ok := TemplateDefault("bundle_final_reminder", "email", "nl-BE")
	require.True(t, ok)
	require.Equal(t, "nl", nl.Language)
	require.Equal(t, "bundle_final_reminder", nl.Kind)
	require.Contains(t, nl.Subject, "#items_count")
}

func TestValidateKind(t *testing.T) {
	for _, tc := range []struct {
		kind, text, invoiceTag string
		unknown                bool
	}{
		{"bundle_reminder", "<p>#items_list</p><p>#total_due, #items_count, #overdue_amount</p>", "", false},
		{"bundle_reminder", "<p>Invoice #invoice_number</p>", "#invoice_number", false},
		{"bundle_final_reminder", "Due #due_date", "#due_date", false},
		{"bundle_sms", "#days_overdue days", "#days_overdue", false},
		{"bundle_sms", "#open_amount and #invoice_amount", "#open_amount", false},
		{"bundle_reminder", "#invoice_date", "#invoice_date", false},
		{"bundle_reminder", "#nonsense", "", true},
		{"reminder", "Invoice #invoice_number due #due_date", "", false},
		{"sms", "#open_amount", "", false},
	} {
		err := ValidateKind(tc.kind, tc.text)
		var inv *InvoiceTagError
		var unk *UnknownTagError
		switch {
		case tc.invoiceTag != "":
			require.True(t, errors.As(err, &inv), "%s %q: %v", tc.kind, tc.text, err)
			require.Equal(t, tc.invoiceTag, inv.Tag)
			require.Contains(t, err.Error(), "#items_list")
		case tc.unknown:
			require.True(t, errors.As(err, &unk), "%s %q: %v", tc.kind, tc.text, err)
		default:
			require.NoError(t, err, "%s %q", tc.kind, tc.text)
		}
	}
}
