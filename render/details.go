package render

import (
	"slices"
	"strings"
)

// detailTags maps each tag that prints a company or signing-user detail to
// the administration field that holds it (its JSON name in the API) and the
// value it prints. #company_logo is absent on purpose: without a logo it
// prints the company name, which is never blank.
var detailTags = map[string]struct {
	field string
	value func(d *Data) string
}{
	"company_name":      {"company_name", func(d *Data) string { return d.Company.Name }},
	"company_address":   {"company_address", func(d *Data) string { return strings.Join(d.Company.Address.lines(), "") }},
	"company_phone":     {"company_phone", func(d *Data) string { return d.Company.Phone }},
	"company_email":     {"company_email", func(d *Data) string { return d.Company.Email }},
	"company_website":   {"company_website", func(d *Data) string { return d.Company.Website }},
	"late_penalty_rate": {"late_penalty_rate", func(d *Data) string { return d.Company.LatePenaltyRate }},
	"bank_details":      {"bank_details", func(d *Data) string { return d.Company.BankDetails }},
	"user_name":         {"user_name", func(d *Data) string { return d.User.Name }},
	"user_email":        {"user_email", func(d *Data) string { return d.User.Email }},
	"user_phone":        {"user_phone", func(d *Data) string { return d.User.Phone }},
}

// TagsUsed lists the tags (without '#') that texts use, each once, in the
// order they first appear. Unknown tags are listed too: Validate is the
// place that refuses them.
func TagsUsed(texts ...string) []string {
	var out []string
	for _, s := range texts {
		scanTags(s, func(_, _ int, name string) bool {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
			return true
		})
	}
	return out
}

// MissingDetails lists, sorted, the administration fields that the tags of
// texts (a template's subject and body) print and that d leaves blank: such
// a message would go out with a hole ("pay to:" and nothing), so the sender
// holds it instead and tells the administration what to fill in.
func MissingDetails(d Data, texts ...string) []string {
	var out []string
	for _, tag := range TagsUsed(texts...) {
		dt, ok := detailTags[tag]
		if !ok || strings.TrimSpace(dt.value(&d)) != "" || slices.Contains(out, dt.field) {
			continue
		}
		out = append(out, dt.field)
	}
	slices.Sort(out)
	return out
}
