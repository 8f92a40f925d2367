package render

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTagsUsed(t *testing.T) {
	require.Equal(t, []string{"customer_name", "bank_details", "user_name"},
		TagsUsed("Dear #customer_name,", "pay to #bank_details. #customer_name &#x27; <a href=\"#user_name\">x</a>"))
	require.Nil(t, TagsUsed("no tags # here", "&#x41;"))
}

func TestMissingDetails(t *testing.T) {
	full := fullData("en")
	blank := full
	blank.Company = CompanyData{Name: "Northwind"}
	blank.User = UserData{}
	for _, c := range []struct {
		name  string
		d     Data
		texts []string
		want  []string
	}{
		{"everything filled", full, []string{"#bank_details #user_name #user_email #user_phone #company_address #late_penalty_rate"}, nil},
		{"bank details blank", blank, []string{"Subject #invoice_number", "Transfer to: #bank_details"}, []string{"bank_details"}},
		{"each field once, sorted", blank, []string{"#user_phone #bank_details", "#user_phone #user_name #company_address"},
			[]string{"bank_details", "company_address", "user_name", "user_phone"}},
		{"the logo falls back to the name", blank, []string{"#company_logo #company_name"}, nil},
		{"customer and document tags need no company detail", blank, []string{"#customer_name #items_list #portal_link"}, nil},
		{"a blank value counts as missing", Data{Company: CompanyData{Name: "N", BankDetails: "  "}}, []string{"#bank_details"}, []string{"bank_details"}},
		{"every company tag", Data{}, []string{"#company_name #company_address #company_phone #company_email #company_website #late_penalty_rate #bank_details #user_name #user_email #user_phone"},
			[]string{"bank_details", "company_address", "company_email", "company_name", "company_phone", "company_website", "late_penalty_rate", "user_email", "user_name", "user_phone"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, MissingDetails(c.d, c.texts...))
		})
	}
}

// TestEveryCompanyTagIsChecked: a company tag added to the table without a
// detail mapping would print blank unnoticed.
func TestEveryCompanyTagIsChecked(t *testing.T) {
	for _, tag := range tagTable {
		if tag.group != groupCompany || tag.kind == logoValue {
			continue
		}
		_, ok := detailTags[tag.name]
		require.True(t, ok, "#%s prints a company detail: map it in detailTags", tag.name)
	}
}

// TestShippedTemplatesNeedDetails: the shipped templates print the bank
// details and the signing user, so an administration without them is held.
func TestShippedTemplatesNeedDetails(t *testing.T) {
	tpl, ok := Default("reminder", "email", "nl")
	require.True(t, ok)
	require.Contains(t, MissingDetails(Data{Company: CompanyData{Name: "N"}}, tpl.Subject, tpl.Body), "bank_details")
	require.Empty(t, MissingDetails(fullData("nl"), tpl.Subject, tpl.Body))
}
