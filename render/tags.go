package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// TagDoc documents one tag for the template editor; the API serves the list
// (GET /api/v1/template-tags) so that the documentation cannot drift from
// what the renderer accepts.
type TagDoc struct {
	// Name is the tag as written in a template, with its '#': "#customer_name".
	Name string
	// Group is "customer", "document" (accounting documents and account
	// status) or "company" (the company and the sending user), the three
	// kinds of the help article the product is modelled on.
	Group string
	// Description says what the tag shows, in English.
	Description string
	// Example is what the tag could show for an English-speaking customer.
	Example string
}

// Tag groups, as documented in TagDoc.Group.
const (
	groupCustomer = "customer"
	groupDocument = "document"
	groupCompany  = "company"
)

// valueKind says how a tag's value is written in HTML and where it may go.
type valueKind uint8

const (
	textValue  valueKind = iota // escaped; line breaks become <br>
	moneyValue                  // escaped; never broken over two lines
	urlValue                    // a link when it is a web address
	logoValue                   // an <img> in HTML, the company name elsewhere
	itemsValue                  // a table (block) in email and letter, a summary elsewhere
)

// tagDef is the single definition of a tag: its documentation and its value.
type tagDef struct {
	name, group, desc, example string
	kind                       valueKind
	// invoice: the tag is about the one invoice a message concerns
	// (Data.Invoice); a bundle's text may not use it (ValidateKind).
	invoice bool
	// value is the plain-text value; several lines are separated by "\n".
	value func(r *renderer) string
}

// tagTable is the one place where tags are defined; Tags, Validate and
// every renderer use it, so that adding a tag here is all it takes.
var tagTable = []tagDef{
	// Customer.
	{name: "customer_name", group: groupCustomer, desc: "Name (company name) of the customer.", example: "Acme Trading Ltd",
		value: func(r *renderer) string { return r.d.Customer.Name }},
	{name: "customer_legal_id", group: groupCustomer, desc: "Legal identifier of the customer (company or VAT number).", example: "GB123456789",
		value: func(r *renderer) string { return r.d.Customer.LegalID }},
	{name: "customer_reference", group: groupCustomer, desc: "The customer's account number in your ledger.", example: "C-10042",
		value: func(r *renderer) string { return r.d.Customer.Reference }},
	{name: "customer_address", group: groupCustomer, desc: "Postal address of the customer, on several lines.", example: "12 High Street\nEC1A 1BB London\nUnited Kingdom",
		value: func(r *renderer) string { return strings.Join(r.d.Customer.Address.lines(), "\n") }},
	{name: "customer_email", group: groupCustomer, desc: "Email address of the customer.", example: "accounts@acme.example",
		value: func(r *renderer) string { return r.d.Customer.Email }},
	{name: "customer_phone", group: groupCustomer, desc: "Phone number of the customer.", example: "+44 20 7946 0000",
		value: func(r *renderer) string { return r.d.Customer.Phone }},
	{name: "portal_link", group: groupCustomer, kind: urlValue, desc: "The customer's personal portal link (signed, it expires): open invoices and what was sent, give an email address, write to you, dispute an invoice, promise to pay.", example: "https://pay.example.com/portal/42.k3f.Xq9vB2mT8rLw0aZc4yHn1pEs",
		value: func(r *renderer) string { return r.d.PortalLink }},
	{name: "portal_home", group: groupCustomer, kind: urlValue, desc: "The portal's short address, where the customer types #portal_code (for SMS and paper, where #portal_link is too long).", example: "https://pay.example.com/portal",
		value: func(r *renderer) string { return r.d.PortalHome }},
	{name: "portal_code", group: groupCustomer, desc: "The customer's short portal code, typed on #portal_home.", example: "K7QM-4XTA",
		value: func(r *renderer) string { return r.d.PortalCode }},

	// Accounting documents and account status.
	{name: "invoice_number", group: groupDocument, invoice: true, desc: "Number of the invoice the message is about.", example: "INV-2026-0042",
		value: func(r *renderer) string { return r.invoice().Number }},
	{name: "invoice_date", group: groupDocument, invoice: true, desc: "Issue date of the invoice.", example: "15 Oct 2026",
		value: func(r *renderer) string { return r.date(r.invoice().IssueDate) }},
	{name: "due_date", group: groupDocument, invoice: true, desc: "Due date of the invoice.", example: "14 Nov 2026",
		value: func(r *renderer) string { return r.date(r.invoice().DueDate) }},
	{name: "invoice_amount", group: groupDocument, invoice: true, kind: moneyValue, desc: "Total amount of the invoice.", example: "€1,250.00",
		value: func(r *renderer) string { return r.money(r.d.Invoice, func(it *Item) Money { return it.Amount }) }},
	{name: "open_amount", group: groupDocument, invoice: true, kind: moneyValue, desc: "Amount of the invoice still unpaid (after partial payments).", example: "€750.00",
		value: func(r *renderer) string { return r.money(r.d.Invoice, func(it *Item) Money { return it.Open }) }},
	{name: "days_overdue", group: groupDocument, invoice: true, desc: "Number of days the invoice is past its due date (0 when not yet due).", example: "9",
		value: func(r *renderer) string {
			if r.d.Invoice == nil {
				return ""
			}
			return strconv.Itoa(max(0, r.d.Invoice.DaysOverdue))
		}},
	{name: "items_list", group: groupDocument, kind: itemsValue, desc: "Table of all the customer's open items (invoices and credit notes) with their total; in an SMS or a subject, a one-line summary.", example: "3 open items, total €2,130.00",
		value: func(r *renderer) string { return r.labels().summary(len(r.items), r.totalDue()) }},
	{name: "items_count", group: groupDocument, desc: "Number of open items of the customer.", example: "3",
		value: func(r *renderer) string { return strconv.Itoa(len(r.items)) }},
	{name: "overdue_amount", group: groupDocument, kind: moneyValue, desc: "Sum of the open amounts of the items past their due date.", example: "€1,880.00",
		value: func(r *renderer) string { return r.overdueAmount() }},
	{name: "total_due", group: groupDocument, kind: moneyValue, desc: "Sum of the open amounts of all open items, due or not.", example: "€2,130.00",
		value: func(r *renderer) string { return r.totalDue() }},
	{name: "collection_costs", group: groupDocument, kind: moneyValue, desc: "Collection costs charged in the collection procedure.", example: "€40.00",
		value: func(r *renderer) string { return r.optMoney(r.d.CollectionCosts) }},
	{name: "interest", group: groupDocument, kind: moneyValue, desc: "Late-payment interest charged in the collection procedure.", example: "€21.37",
		value: func(r *renderer) string { return r.optMoney(r.d.Interest) }},
	{name: "total_claim", group: groupDocument, kind: moneyValue, desc: "Overdue amount plus collection costs and interest: what the customer must pay now.", example: "€1,941.37",
		value: func(r *renderer) string { return r.totalClaim() }},
	{name: "today", group: groupDocument, desc: "Date of sending.", example: "23 Nov 2026",
		value: func(r *renderer) string { return r.date(r.d.Now) }},

	// Company and sending user.
	{name: "company_name", group: groupCompany, desc: "Name of your company.", example: "Northwind Supplies BV",
		value: func(r *renderer) string { return r.d.Company.Name }},
	{name: "company_logo", group: groupCompany, kind: logoValue, desc: "Your logo (an image in email; the company name in text, SMS and letter text).", example: "https://northwind.example/logo.png",
		value: func(r *renderer) string { return r.d.Company.Name }},
	{name: "company_address", group: groupCompany, desc: "Postal address of your company, on several lines.", example: "Keizersgracht 1\n1015 CC Amsterdam\nNetherlands",
		value: func(r *renderer) string { return strings.Join(r.d.Company.Address.lines(), "\n") }},
	{name: "company_phone", group: groupCompany, desc: "Phone number of your company.", example: "+31 20 123 4567",
		value: func(r *renderer) string { return r.d.Company.Phone }},
	{name: "company_email", group: groupCompany, desc: "Email address of your company.", example: "billing@northwind.example",
		value: func(r *renderer) string { return r.d.Company.Email }},
	{name: "company_website", group: groupCompany, kind: urlValue, desc: "Website of your company.", example: "https://northwind.example",
		value: func(r *renderer) string { return r.d.Company.Website }},
	{name: "late_penalty_rate", group: groupCompany, desc: "Late-payment penalty rate of your terms and conditions.", example: "8%",
		value: func(r *renderer) string { return r.d.Company.LatePenaltyRate }},
	{name: "bank_details", group: groupCompany, desc: "Your bank details (IBAN, BIC) for payment by transfer.", example: "IBAN NL91 ABNA 0417 1643 00\nBIC ABNANL2A",
		value: func(r *renderer) string { return r.d.Company.BankDetails }},
	{name: "user_name", group: groupCompany, desc: "Name of the credit manager who signs the message.", example: "Jan de Vries",
		value: func(r *renderer) string { return r.d.User.Name }},
	{name: "user_email", group: groupCompany, desc: "Email address of the credit manager.", example: "jan.devries@northwind.example",
		value: func(r *renderer) string { return r.d.User.Email }},
	{name: "user_phone", group: groupCompany, desc: "Direct phone number of the credit manager.", example: "+31 20 123 4568",
		value: func(r *renderer) string { return r.d.User.Phone }},
}

// tagIndex finds a definition by name (without '#').
var tagIndex = func() map[string]*tagDef {
	m := make(map[string]*tagDef, len(tagTable))
	for i := range tagTable {
		m[tagTable[i].name] = &tagTable[i]
	}
	return m
}()

// Tags documents every tag a template may use, grouped as in TagDoc.Group.
// It returns a fresh slice, so callers may sort or change it.
func Tags() []TagDoc {
	out := make([]TagDoc, len(tagTable))
	for i, t := range tagTable {
		out[i] = TagDoc{Name: "#" + t.name, Group: t.group, Description: t.desc, Example: t.example}
	}
	return out
}

// UnknownTagError reports a tag that is not in Tags, so that saving such a
// template can be refused with the tag named (docs/domain.md §1.9).
type UnknownTagError struct {
	// Tag is the tag as written, with its '#': "#foo".
	Tag string
}

// Error implements error.
func (e *UnknownTagError) Error() string { return fmt.Sprintf("unknown tag %q", e.Tag) }

// Validate reports the first unknown tag of text as an *UnknownTagError
// (use errors.As), or nil. It accepts anything the renderers accept: a
// subject, an SMS text, a plain-text body or a rich-text (HTML) body, where
// tags in the visible text and in link targets count as well as the tags
// as written.
func Validate(text string) error {
	if err := checkTags(text); err != nil {
		return err
	}
	if looksLikeHTML(text) {
		if _, err := parseHTML(text); err != nil {
			return err
		}
	}
	return nil
}

// checkTags reports the first unknown tag of s as written.
func checkTags(s string) error {
	var err error
	scanTags(s, func(_, _ int, name string) bool {
		if tagIndex[name] == nil {
			err = &UnknownTagError{Tag: "#" + name}
			return false
		}
		return true
	})
	return err
}

// scanTags calls fn with the byte range and the name (without '#') of each
// tag of s, in order, until fn returns false. A tag is '#' followed by
// [a-z][a-z0-9_]*; a hexadecimal character reference ("&#x27;") is not one.
func scanTags(s string, fn func(start, end int, name string) bool) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '#' || !isLower(s[i+1]) {
			continue
		}
		if i > 0 && s[i-1] == '&' && s[i+1] == 'x' {
			j := i + 2
			for j < len(s) && isHex(s[j]) {
				j++
			}
			if j > i+2 && j < len(s) && s[j] == ';' {
				i = j
				continue
			}
		}
		j := i + 2
		for j < len(s) && (isLower(s[j]) || isDigit(s[j]) || s[j] == '_') {
			j++
		}
		if !fn(i, j, s[i+1:j]) {
			return
		}
		i = j - 1
	}
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// renderer holds the data of one rendering and what is derived from it.
type renderer struct {
	d    Data
	lang string
	// items are d.Items by due date, as a credit manager lists them.
	items []Item
}

func newRenderer(d Data) *renderer {
	items := slices.Clone(d.Items)
	slices.SortStableFunc(items, func(a, b Item) int {
		if c := civilDate(a.DueDate).Compare(civilDate(b.DueDate)); c != 0 {
			return c
		}
		return strings.Compare(a.Number, b.Number)
	})
	return &renderer{d: d, lang: normLang(d.Language), items: items}
}

func (r *renderer) labels() labels { return allLabels[r.lang] }

func (r *renderer) date(t time.Time) string { return FormatDate(t, r.lang) }

// invoice returns the invoice, or an empty one for a message about no
// single invoice (its tags then render empty).
func (r *renderer) invoice() *Item {
	if r.d.Invoice == nil {
		return &Item{}
	}
	return r.d.Invoice
}

func (r *renderer) money(it *Item, f func(*Item) Money) string {
	if it == nil {
		return ""
	}
	return FormatMoney(f(it), r.lang)
}

func (r *renderer) optMoney(m *Money) string {
	if m == nil {
		return ""
	}
	return FormatMoney(*m, r.lang)
}

// overdue tells whether an item is past its due date: due today is not
// overdue, whatever the time of day.
func (r *renderer) overdue(it Item) bool {
	return !it.DueDate.IsZero() && civilDate(it.DueDate).Before(civilDate(r.d.Now))
}

// currency is the currency of a zero total: that of the invoice, else of
// the first item, else none.
func (r *renderer) currency() string {
	if r.d.Invoice != nil && r.d.Invoice.Open.Currency != "" {
		return r.d.Invoice.Open.Currency
	}
	for _, it := range r.items {
		if it.Open.Currency != "" {
			return it.Open.Currency
		}
	}
	return ""
}

func (r *renderer) openSums(onlyOverdue bool) []Money {
	var ms []Money
	for _, it := range r.items {
		if !onlyOverdue || r.overdue(it) {
			ms = append(ms, it.Open)
		}
	}
	return sumByCurrency(ms)
}

func (r *renderer) totalDue() string {
	return formatSums(r.openSums(false), r.currency(), r.lang)
}

func (r *renderer) overdueAmount() string {
	return formatSums(r.openSums(true), r.currency(), r.lang)
}

func (r *renderer) totalClaim() string {
	ms := r.openSums(true)
	costs := r.d.CollectionCosts
	if r.d.CostsAnnounced {
		costs = nil
	}
	for _, m := range []*Money{costs, r.d.Interest} {
		if m != nil {
			ms = append(ms, *m)
		}
	}
	return formatSums(sumByCurrency(ms), r.currency(), r.lang)
}

// oneLine joins the lines of a multi-line value with ", ", for a subject
// or an SMS.
func oneLine(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	var parts []string
	for _, l := range strings.FieldsFunc(v, func(c rune) bool { return c == '\n' || c == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ", ")
}

// plain replaces the tags of a one-part plain text (a subject, an SMS) by
// their one-line values.
func (r *renderer) plain(s string) (string, error) {
	var b strings.Builder
	last := 0
	var err error
	scanTags(s, func(start, end int, name string) bool {
		def := tagIndex[name]
		if def == nil {
			err = &UnknownTagError{Tag: "#" + name}
			return false
		}
		b.WriteString(s[last:start])
		b.WriteString(oneLine(def.value(r)))
		last = end
		return true
	})
	if err != nil {
		return "", err
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// subject renders a subject line: one line, no control characters (a line
// break in a header would let a value inject headers).
func (r *renderer) subject(s string) (string, error) {
	if err := Validate(s); err != nil {
		return "", err
	}
	v, err := r.plain(s)
	if err != nil {
		return "", err
	}
	v = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, v)
	return strings.Join(strings.Fields(v), " "), nil
}
