package render

import (
	"html"
	"time"
)

var testNow = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func eur(minor int64) Money { return Money{Minor: minor, Currency: "EUR"} }

// fullData fills every field, so that every tag has a value.
func fullData(lang string) Data {
	inv := Item{Number: "INV-2026-0042", IssueDate: day(2026, 10, 15), DueDate: day(2026, 11, 14),
		Amount: eur(125000), Open: eur(75000), DaysOverdue: 9}
	costs, interest := eur(4000), eur(2137)
	return Data{
		Language: lang,
		Now:      testNow,
		Customer: CustomerData{Name: "Acme Trading Ltd", LegalID: "GB123456789", Email: "accounts@acme.example",
			Phone: "+44 20 7946 0000", Reference: "C-10042",
			Address: Address{Lines: []string{"12 High Street"}, PostalCode: "EC1A 1BB", City: "London", Country: "United Kingdom"}},
		Company: CompanyData{Name: "Northwind Supplies BV", LogoURL: "https://northwind.example/logo.png",
			LatePenaltyRate: "8%", BankDetails: "IBAN NL91 ABNA 0417 1643 00\nBIC ABNANL2A",
			Address: Address{Lines: []string{"Keizersgracht 1"}, PostalCode: "1015 CC", City: "Amsterdam", Country: "Netherlands"},
			Phone:   "+31 20 123 4567", Email: "billing@northwind.example", Website: "https://northwind.example"},
		User:    UserData{Name: "Jan de Vries", Email: "jan.devries@northwind.example", Phone: "+31 20 123 4568"},
		Invoice: &inv,
		Items: []Item{
			{Number: "INV-2026-0050", IssueDate: day(2026, 11, 1), DueDate: day(2026, 12, 1), Amount: eur(25000), Open: eur(25000)},
			inv,
			{Number: "INV-2026-0031", IssueDate: day(2026, 9, 20), DueDate: day(2026, 10, 20), Amount: eur(113000), Open: eur(113000), DaysOverdue: 34},
		},
		PortalLink:      "https://pay.example.com/p/8f3a2c",
		PortalHome:      "https://pay.example.com/portal",
		PortalCode:      "K7QM-4XTA",
		CollectionCosts: &costs,
		Interest:        &interest,
	}
}

// knownTagIn returns the first known tag found in plain text s; "" when
// there is none.
func knownTagIn(s string) string { return knownTagInAny(s) }

// knownTagInHTML is knownTagIn for HTML: as written and as read.
func knownTagInHTML(s string) string { return knownTagInAny(s, html.UnescapeString(s)) }

func knownTagInAny(texts ...string) string {
	for _, v := range texts {
		found := ""
		scanTags(v, func(_, _ int, name string) bool {
			if tagIndex[name] != nil {
				found = "#" + name
				return false
			}
			return true
		})
		if found != "" {
			return found
		}
	}
	return ""
}
