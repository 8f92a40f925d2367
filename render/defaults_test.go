package render

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// shippedChannels is what Defaults claims: per kind, its channels.
var shippedChannels = map[string][]string{
	"invoice":        {"email", "post"},
	"reminder":       {"email", "post"},
	"final_reminder": {"email", "post"},
	"sms":            {"sms"},
	"collection":     {"email", "post", "sms"},
	"statement":      {"email", "post", "sms"},
}

func TestDefaultsCoverage(t *testing.T) {
	want := map[string]bool{}
	for kind, channels := range shippedChannels {
		for _, ch := range channels {
			for _, lang := range []string{"nl", "fr", "en", "de"} {
				want[kind+"/"+ch+"/"+lang] = true
			}
		}
	}
	got := map[string]bool{}
	for _, tpl := range Defaults() {
		key := tpl.Kind + "/" + tpl.Channel + "/" + tpl.Language
		require.False(t, got[key], "duplicate %s", key)
		got[key] = true
	}
	require.Equal(t, want, got)
	require.Len(t, Defaults(), 52)

	for key := range want {
		p := strings.Split(key, "/")
		tpl, ok := Default(p[0], p[1], p[2])
		require.True(t, ok, key)
		require.Equal(t, Template{Kind: p[0], Channel: p[1], Language: p[2], Subject: tpl.Subject, Body: tpl.Body}, tpl)
	}

	// Other languages and regions.
	tpl, ok := Default("reminder", "email", "es")
	require.True(t, ok)
	require.Equal(t, "en", tpl.Language)
	tpl, ok = Default("reminder", "post", "nl-BE")
	require.True(t, ok)
	require.Equal(t, "nl", tpl.Language)
	_, ok = Default("invoice", "sms", "en")
	require.False(t, ok)
	_, ok = Default("nope", "email", "en")
	require.False(t, ok)

	// Defaults returns a copy.
	Defaults()[0].Body = "changed"
	require.NotEqual(t, "changed", Defaults()[0].Body)
}

func TestDefaultsValidateAndRender(t *testing.T) {
	for _, tpl := range Defaults() {
		name := fmt.Sprintf("%s/%s/%s", tpl.Kind, tpl.Channel, tpl.Language)
		require.NoError(t, Validate(tpl.Subject), name)
		require.NoError(t, Validate(tpl.Body), name)
		if tpl.Channel == "sms" {
			// An SMS has no room for the long link: the short address and code.
			require.Contains(t, tpl.Body, "#portal_home", name)
			require.Contains(t, tpl.Body, "#portal_code", name)
		} else {
			require.Contains(t, tpl.Body, "#portal_link", name)
		}
		// Messages promise only what exists: there is no online payment.
		for _, word := range []string{"online", "en ligne"} {
			require.NotContains(t, strings.ToLower(tpl.Body), word, name)
		}

		d := fullData(tpl.Language)
		switch tpl.Channel {
		case "email":
			require.NotEmpty(t, tpl.Subject, name)
			require.True(t, looksLikeHTML(tpl.Body), "%s: rich text", name)
			e, err := RenderEmail(EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, d)
			require.NoError(t, err, name)
			require.Empty(t, knownTagIn(e.Subject+e.Text), name)
			require.Empty(t, knownTagInHTML(e.HTML), name)
			require.Contains(t, e.HTML, `<a href="https://pay.example.com/p/8f3a2c"`, name)
			require.Contains(t, e.Text, "https://pay.example.com/p/8f3a2c", name)
			require.Contains(t, e.HTML, `<html lang="`+tpl.Language+`">`, name)
		case "post":
			require.NotEmpty(t, tpl.Subject, name)
			require.False(t, looksLikeHTML(tpl.Body), "%s: plain text", name)
			l, err := RenderLetter(EmailTemplate{Subject: tpl.Subject, Body: tpl.Body}, d)
			require.NoError(t, err, name)
			all := strings.Join(l.Paragraphs, "\n")
			require.Empty(t, knownTagIn(l.Subject+all), name)
			require.Contains(t, all, "https://pay.example.com/p/8f3a2c", name)
			require.NotContains(t, all, "**", name)
		case "sms":
			require.Empty(t, tpl.Subject, name)
			s, err := RenderSMS(tpl.Body, d)
			require.NoError(t, err, name)
			require.Empty(t, knownTagIn(s.Text), name)
			require.Contains(t, s.Text, "https://pay.example.com/portal", name)
			require.Contains(t, s.Text, "K7QM-4XTA", name)
			// Default texts stay in the GSM alphabet: an accent outside it
			// would more than double the cost of every message.
			require.Equal(t, EncodingGSM7, s.Encoding, "%s: %q", name, s.Text)
			require.LessOrEqual(t, s.Segments, 2, name)
		}

		// What each kind must say.
		mustHave := map[string][]string{
			"final_reminder": {"#late_penalty_rate", "#overdue_amount"},
			"collection":     {"#total_claim"},
			"statement":      {"#items_list", "#overdue_amount"},
			"sms":            {"#invoice_number", "#due_date"},
		}[tpl.Kind]
		if tpl.Channel != "sms" {
			switch tpl.Kind {
			case "collection":
				mustHave = append(mustHave, "#collection_costs", "#interest", "#items_list", "#bank_details")
			case "reminder", "final_reminder":
				mustHave = append(mustHave, "#items_list", "#bank_details", "#invoice_number")
			case "invoice":
				mustHave = append(mustHave, "#invoice_number", "#invoice_amount", "#due_date", "#bank_details")
			}
		}
		for _, tag := range mustHave {
			require.Contains(t, tpl.Subject+tpl.Body, tag, name)
		}
	}
}

// TestDefaultsTranslated guards against an untranslated copy: the texts of
// one kind and channel differ between languages.
func TestDefaultsTranslated(t *testing.T) {
	bodies := map[string][]string{}
	for _, tpl := range Defaults() {
		key := tpl.Kind + "/" + tpl.Channel
		require.False(t, slices.Contains(bodies[key], tpl.Body), "%s/%s repeats another language", key, tpl.Language)
		bodies[key] = append(bodies[key], tpl.Body)
	}
}
