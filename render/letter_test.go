package render

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderLetter(t *testing.T) {
	d := fullData("fr")
	tpl := EmailTemplate{
		Subject: "Relance facture #invoice_number",
		Body: "Madame, Monsieur,\n\nVos pièces ouvertes : #items_list\n\nTotal : #total_due\nVotre espace : #portal_link\n\n" +
			"#items_list\n\nCordialement,\n#user_name",
	}
	l, err := RenderLetter(tpl, d)
	require.NoError(t, err)
	require.Equal(t, "Relance facture INV-2026-0042", l.Subject)
	require.Equal(t, []string{
		"Madame, Monsieur,",
		"Vos pièces ouvertes :",
		"Total : 2 130,00 €\nVotre espace : https://pay.example.com/p/8f3a2c",
		"Cordialement,\nJan de Vries",
	}, l.Paragraphs)
	require.Equal(t, 2, l.ItemsAt)
	require.Len(t, l.Items, 3)
	require.Equal(t, "INV-2026-0031", l.Items[0].Number, "by due date")

	// Rich text: formatting dropped, links spelled out, the table apart.
	l, err = RenderLetter(EmailTemplate{Body: `<p><b>Bonjour</b>,</p><p><a href="#portal_link">Payer en ligne</a></p><ul><li>un</li></ul>`}, d)
	require.NoError(t, err)
	require.Equal(t, []string{"Bonjour,", "Payer en ligne (https://pay.example.com/p/8f3a2c)", "- un"}, l.Paragraphs)
	require.Nil(t, l.Items)

	// The table is asked for even when there is nothing to list.
	d.Items = nil
	l, err = RenderLetter(EmailTemplate{Body: "#items_list"}, d)
	require.NoError(t, err)
	require.NotNil(t, l.Items)
	require.Empty(t, l.Items)
	require.Empty(t, l.Paragraphs)
}
