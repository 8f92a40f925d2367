package domain

import "time"

// DefaultTemplateName is the template set that journey steps use unless
// they name another; the shipped defaults belong to it.
const DefaultTemplateName = "default"

// TemplateInput is a template as an admin writes it. Kind, channel, language
// and name identify it and are fixed once it is saved; a save of the same
// template changes only the subject and body and makes a new version.
type TemplateInput struct {
	Name     string
	Kind     string
	Channel  string
	Language string
	Subject  string
	Body     string
}

// TemplateSource says where an effective template comes from.
type TemplateSource string

// Template sources.
const (
	// TemplateStored is the administration's own template.
	TemplateStored TemplateSource = "administration"
	// TemplateShipped is a shipped default that the administration has not
	// overridden.
	TemplateShipped TemplateSource = "shipped"
)

// EffectiveTemplate is a template as it applies to an administration: its
// own (ID and Version set), or a shipped default of the "default" set it has
// not overridden (ID 0, Version 0).
type EffectiveTemplate struct {
	ID        int64
	Name      string
	Kind      string
	Channel   string
	Language  string
	Subject   string
	Body      string
	Version   int
	Source    TemplateSource
	UpdatedAt *time.Time
}

// TemplatePreviewInput asks to render a template, saved (TemplateID) or
// not (Template), against a real invoice or customer (one of InvoiceID and
// CustomerID). MaxSegments, when set, is how many SMS segments the admin
// wants at most; a longer SMS gives a warning.
type TemplatePreviewInput struct {
	TemplateID  int64
	Template    TemplateInput
	InvoiceID   int64
	CustomerID  int64
	MaxSegments int
}

// TemplatePreview is a rendered template: what the customer would get.
type TemplatePreview struct {
	Kind, Channel, Language string
	// TemplateID and TemplateVersion name the saved template rendered; zero
	// for an unsaved one.
	TemplateID      int64
	TemplateVersion int
	Recipient       string
	Subject         string
	HTML            string
	Text            string
	// Characters, Segments and Encoding describe an SMS.
	Characters int
	Segments   int
	Encoding   string
	// PDF is a letter.
	PDF      []byte
	Warnings []string

	// To, Cc and Bcc are an email's addresses.
	To, Cc, Bcc []string
}
