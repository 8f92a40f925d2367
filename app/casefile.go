package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/render"
)

// CaseFileFormats are the formats of a case file.
var CaseFileFormats = []string{"csv", "pdf"}

// CaseFile is the case file to hand a case over to a collection agency by
// hand (docs/domain.md §1.5): the debtor, the open invoices and the claim
// (principal, statutory interest, collection costs, waiver, total) as of
// now, as CSV (one row per invoice, the case's columns repeated, amounts as
// plain decimals) or as a PDF. It holds the same data as the agency
// webhook's body. A closed case has nothing to collect: 409.
func (s *Service) CaseFile(ctx context.Context, cs *models.CollectionCase, format string) (domain.File, error) {
	format = strings.ToLower(strings.TrimSpace(format))
	if format != "csv" && format != "pdf" {
		return domain.File{}, domain.Invalid("format", "must be csv or pdf, got %q", format)
	}
	if err := caseClosed(cs); err != nil {
		return domain.File{}, err
	}
	f, err := activities.BuildCaseFile(ctx, s.db, s.Now(), cs.AdministrationID, cs.ID)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return domain.File{}, err
		}
		return domain.File{}, fmt.Errorf("case file of case %d: %w", cs.ID, err)
	}
	name := fmt.Sprintf("case-%d.%s", cs.ID, format)
	if format == "csv" {
		body, err := caseFileCSV(f)
		return domain.File{Name: name, ContentType: "text/csv; charset=utf-8", Body: body}, err
	}
	var adm models.Administration
	if err := s.db.WithContext(ctx).First(&adm, "id = ?", cs.AdministrationID).Error; err != nil {
		return domain.File{}, storeErr(err, "administration %d", cs.AdministrationID)
	}
	body, err := letter.RenderPDF(caseFileLetter(&adm, f))
	if err != nil {
		return domain.File{}, fmt.Errorf("case file of case %d as PDF: %w", cs.ID, err)
	}
	return domain.File{Name: name, ContentType: "application/pdf", Body: body}, nil
}

// caseFileColumns are the CSV's header, in order.
var caseFileColumns = []string{
	"case_id", "as_of", "creditor", "customer_reference", "customer_name", "customer_type", "legal_id", "email", "phone",
	"address", "postal_code", "city", "country", "currency", "invoice_number", "issue_date", "due_date", "invoice_amount",
	"invoice_open", "case_principal", "case_interest", "case_costs", "case_waived", "case_total",
}

func caseFileCSV(f activities.CaseFile) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(caseFileColumns); err != nil {
		return nil, err
	}
	dec := func(minor int64) string { return render.Decimal(render.Money{Minor: minor, Currency: f.Currency}) }
	c := f.Customer
	for _, i := range f.Invoices {
		row := []string{strconv.FormatInt(f.CaseID, 10), f.AsOf.Format("2006-01-02"), f.Administration,
			c.Reference, c.Name, c.Type, c.LegalID, c.Email, c.Phone, c.Address, c.PostalCode, c.City, c.Country, f.Currency,
			i.Number, i.IssueDate, i.DueDate, dec(i.AmountMinor), dec(i.OpenMinor),
			dec(f.PrincipalMinor), dec(f.InterestMinor), dec(f.CostsMinor), dec(f.WaivedMinor), dec(f.TotalMinor)}
		for k, v := range row {
			row[k] = csvSafe(v)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvSafe keeps a spreadsheet from reading a name such as "=HYPERLINK(…)"
// as a formula (CSV injection): such a cell is prefixed with a quote.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return v // a negative amount
		}
		return "'" + v
	}
	return v
}

// caseFileLetter lays the case file out as a letter to the agency's desk:
// the creditor's letterhead, the debtor in the address window, the claim,
// and the open invoices as the table. It is in English, the language
// agencies across the EU take files in.
func caseFileLetter(adm *models.Administration, f activities.CaseFile) channels.Letter {
	money := func(minor int64) string {
		return render.FormatMoney(render.Money{Minor: minor, Currency: f.Currency}, "en")
	}
	c := f.Customer
	debtor := []string{fmt.Sprintf("Debtor: %s (reference %s), %s", c.Name, c.Reference, c.Type)}
	for _, kv := range [][2]string{{"Legal ID", c.LegalID}, {"Email", c.Email}, {"Phone", c.Phone}, {"Language", c.Language}} {
		if kv[1] != "" {
			debtor = append(debtor, kv[0]+": "+kv[1])
		}
	}
	paras := []string{strings.Join(debtor, "\n")}
	if f.NoticeAt != nil {
		paras = append(paras, "Notice of default sent on "+f.NoticeAt.UTC().Format("2 January 2006")+".")
	}
	claim := []string{"Claim as of " + f.AsOf.UTC().Format("2 January 2006") + ":",
		"Principal: " + money(f.PrincipalMinor), "Statutory interest: " + money(f.InterestMinor),
		"Collection costs: " + money(f.CostsMinor)}
	if f.WaivedMinor > 0 {
		claim = append(claim, "Waived by the creditor: "+money(f.WaivedMinor))
	}
	claim = append(claim, "Total claim: "+money(f.TotalMinor))
	paras = append(paras, strings.Join(claim, "\n"), "Open invoices:")
	l := channels.Letter{
		Key: fmt.Sprintf("case-file-%d", f.CaseID), Language: "en",
		Sender:        channels.PostalAddress{Name: firstNonEmpty(adm.CompanyName, adm.Name), Lines: lines(adm.CompanyAddress)},
		SenderDetails: nonBlank(adm.CompanyPhone, adm.CompanyEmail, adm.BankDetails),
		Recipient:     channels.PostalAddress{Name: c.Name, Lines: nonBlank(c.Address), PostalCode: c.PostalCode, City: c.City, Country: c.Country},
		Date:          render.FormatDate(f.AsOf, "en"),
		Subject:       fmt.Sprintf("Case file: collection case %d, %s", f.CaseID, c.Name),
		Paragraphs:    paras,
	}
	var open int64
	for _, i := range f.Invoices {
		l.Items = append(l.Items, channels.LetterItem{Number: i.Number, IssueDate: i.IssueDate, DueDate: i.DueDate,
			Amount: money(i.AmountMinor), Open: money(i.OpenMinor)})
		open += i.OpenMinor
	}
	l.ItemsTotal = money(open)
	return l
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func nonBlank(v ...string) []string {
	var out []string
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func lines(s string) []string {
	return nonBlank(strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")...)
}
