package api

import (
	"context"
	"time"

	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/models"
)

// Application is what the API asks of the application layer (*app.Service
// implements it; cmd/relance wires it in). Declaring it here keeps the API
// free of the database and of the workflows: `go list -deps ./api` names
// neither GORM nor the activities.
type Application interface {
	AcceptProvidedEmail(ctx context.Context, cust *models.Customer) error
	PortalCustomer(ctx context.Context, token string) (*models.Customer, error)
	PortalCodeToken(ctx context.Context, code string) (string, error)
	PortalView(ctx context.Context, cust *models.Customer) (domain.PortalView, error)
	PortalSubmitEmail(ctx context.Context, cust *models.Customer, email string) error
	PortalWrite(ctx context.Context, cust *models.Customer, in domain.PortalMessageInput) (int64, error)
	PortalDispute(ctx context.Context, cust *models.Customer, invoiceID int64, reason string) error
	PortalPromise(ctx context.Context, cust *models.Customer, invoiceID int64, by time.Time) error
	PortalLetter(ctx context.Context, cust *models.Customer, messageID int64) ([]byte, error)
	RotatePortalLink(ctx context.Context, cust *models.Customer) (string, string, error)
	RevokePortalLink(ctx context.Context, cust *models.Customer) error
	Administration(ctx context.Context, org, id int64) (*models.Administration, error)
	Administrations(ctx context.Context, org int64, archived bool, p domain.PageRequest) (domain.Page[models.Administration], error)
	MinimumAmounts(ctx context.Context, adms []int64) (map[int64]map[string]int64, error)
	Case(ctx context.Context, org, id int64) (*models.CollectionCase, error)
	CaseDetail(ctx context.Context, cs *models.CollectionCase) (domain.CaseDetail, error)
	Cases(ctx context.Context, adm int64, f domain.CaseFilter, p domain.PageRequest) (domain.Page[models.CollectionCase], error)
	CaseTimeline(ctx context.Context, cs *models.CollectionCase) ([]domain.CaseTimelineEntry, error)
	HandOverCaseNow(ctx context.Context, cs *models.CollectionCase, reason string) error
	CaseFile(ctx context.Context, cs *models.CollectionCase, format string) (domain.File, error)
	DisputeCase(ctx context.Context, cs *models.CollectionCase, reason string) error
	ResolveCaseDispute(ctx context.Context, cs *models.CollectionCase, reason string) error
	SendStatement(ctx context.Context, cust *models.Customer, in domain.StatementInput) (domain.StatementRequested, error)
	PauseCase(ctx context.Context, cs *models.CollectionCase, until *time.Time, reason string) error
	ResumeCase(ctx context.Context, cs *models.CollectionCase, reason string) error
	WaiveCaseCosts(ctx context.Context, cs *models.CollectionCase, in domain.WaiverInput) (*models.CollectionCase, error)
	AssignJourney(ctx context.Context, adm *models.Administration, cust *models.Customer, journeyID *int64) (int, error)
	Authenticate(ctx context.Context, key string) (domain.Caller, error)
	CreateInvoice(ctx context.Context, adm *models.Administration, cust *models.Customer, inv *models.Invoice) error
	CreateJourney(ctx context.Context, adm *models.Administration, in domain.JourneyInput) (*models.Journey, error)
	CreateTemplate(ctx context.Context, adm *models.Administration, in domain.TemplateInput) (*models.Template, error)
	CreditInvoice(ctx context.Context, invoiceID int64) (models.Invoice, bool, error)
	Customer(ctx context.Context, org, id int64) (*models.Customer, error)
	Contacts(ctx context.Context, cust *models.Customer) ([]models.Contact, error)
	CreateContact(ctx context.Context, cust *models.Customer, in domain.ContactInput) (*models.Contact, error)
	UpdateContact(ctx context.Context, cust *models.Customer, id int64, in domain.ContactInput) (*models.Contact, error)
	DeleteContact(ctx context.Context, cust *models.Customer, id int64) error
	CustomerOf(ctx context.Context, adm, id int64) (*models.Customer, error)
	Customers(ctx context.Context, adm int64, f domain.CustomerFilter, p domain.PageRequest) (domain.Page[models.Customer], error)
	DeleteJourney(ctx context.Context, adm *models.Administration, j *models.Journey) error
	DeleteTemplate(ctx context.Context, adm *models.Administration, t *models.Template) error
	DismissProvidedEmail(ctx context.Context, cust *models.Customer) error
	Import(ctx context.Context, adm *models.Administration, parsed importer.Result, opt domain.ImportOptions) (domain.ImportReport, error)
	ImportRun(ctx context.Context, org, id int64) (*models.ImportRun, error)
	ImportRuns(ctx context.Context, adm int64, p domain.PageRequest) (domain.Page[models.ImportRun], error)
	ImportMapping(ctx context.Context, adm int64) (importer.Mapping, error)
	SaveImportMapping(ctx context.Context, adm int64, m importer.Mapping) error
	Invoice(ctx context.Context, org, id int64) (*models.Invoice, error)
	InvoiceJourney(ctx context.Context, inv *models.Invoice) (domain.Journey, error)
	InvoiceTimeline(ctx context.Context, inv *models.Invoice) (domain.InvoiceTimeline, error)
	Invoices(ctx context.Context, adm int64, f domain.InvoiceFilter, p domain.PageRequest) (domain.Page[models.Invoice], error)
	Journey(ctx context.Context, org, id int64) (*models.Journey, *models.Administration, error)
	Journeys(ctx context.Context, adm int64, p domain.PageRequest) (domain.Page[models.Journey], error)
	Message(ctx context.Context, org, id int64) (*models.Message, error)
	MessageBundle(ctx context.Context, m *models.Message) (domain.MessageBundle, error)
	Organization(ctx context.Context, org int64) (*models.Organization, error)
	PatchOrganizationSettings(ctx context.Context, org int64, p domain.OrganizationSettingsPatch) (*models.Organization, error)
	Conversations(ctx context.Context, org int64, f domain.InboxFilter, p domain.PageRequest) (domain.Page[models.Conversation], error)
	Conversation(ctx context.Context, org, id int64) (*models.Conversation, error)
	OpenConversation(ctx context.Context, conv *models.Conversation, mayMarkRead bool) (domain.ConversationDetail, error)
	MarkConversation(ctx context.Context, conv *models.Conversation, unread bool) error
	ReplyToConversation(ctx context.Context, conv *models.Conversation, in domain.ReplyInput) (domain.InboxMessageView, error)
	UnreadSummary(ctx context.Context, org int64) (domain.UnreadSummary, error)
	InboxAttachment(ctx context.Context, org, id int64) (*models.InboxAttachment, error)
	OpenDispute(ctx context.Context, inv *models.Invoice, reason string) error
	OpenInvoiceCounts(ctx context.Context, customerIDs []int64) (map[int64]int, error)
	PatchAdministrationSettings(ctx context.Context, adm *models.Administration, p domain.AdministrationSettingsPatch) error
	PatchCustomer(ctx context.Context, cust *models.Customer, p domain.CustomerPatch) error
	PatchCustomerSendSettings(ctx context.Context, cust *models.Customer, p domain.CustomerSendSettingsPatch) error
	PauseCustomer(ctx context.Context, cust *models.Customer, until *time.Time, reason string) (int, error)
	PauseInvoice(ctx context.Context, inv *models.Invoice, until *time.Time, reason string) error
	Payments(ctx context.Context, invoiceID int64, p domain.PageRequest) (domain.Page[models.Payment], error)
	PreviewTemplate(ctx context.Context, org int64, in domain.TemplatePreviewInput) (domain.TemplatePreview, error)
	Ready(ctx context.Context) domain.Readiness
	RegisterPayment(ctx context.Context, invoiceID int64, in domain.PaymentInput) (domain.PaymentResult, error)
	CreateAdministration(ctx context.Context, org int64, in domain.AdministrationInput) (*models.Administration, error)
	UpdateAdministration(ctx context.Context, org, id int64, in domain.AdministrationInput) (*models.Administration, error)
	ArchiveAdministration(ctx context.Context, org, id int64, archived bool) (*models.Administration, error)
	CreateCustomer(ctx context.Context, adm *models.Administration, in domain.NewCustomer) (*models.Customer, error)
	APIKeys(ctx context.Context, org int64, p domain.PageRequest) (domain.Page[models.APIKey], error)
	CreateAPIKey(ctx context.Context, org int64, name string, readOnly bool) (models.APIKey, string, error)
	RevokeAPIKey(ctx context.Context, org, id int64) (models.APIKey, error)
	ResolveDispute(ctx context.Context, inv *models.Invoice, reason string) error
	ResumeCustomer(ctx context.Context, cust *models.Customer, reason string) (int, error)
	ResumeInvoice(ctx context.Context, inv *models.Invoice, reason string) error
	SendAction(ctx context.Context, inv *models.Invoice, in domain.ActionInput) (domain.ActionResult, error)
	SetDefaultJourney(ctx context.Context, adm *models.Administration, journeyID int64) (*models.Journey, *models.Operation, error)
	SubmitProvidedEmail(ctx context.Context, cust *models.Customer, email string) (int, error)
	Template(ctx context.Context, org, id int64) (*models.Template, *models.Administration, error)
	Templates(ctx context.Context, adm int64) ([]domain.EffectiveTemplate, error)
	TemplateVersions(ctx context.Context, t *models.Template) ([]models.TemplateVersion, error)
	UpdateJourney(ctx context.Context, adm *models.Administration, j *models.Journey, in domain.JourneyInput) (*models.Operation, error)
	Operation(ctx context.Context, org, id int64) (*models.Operation, error)
	UpdateTemplate(ctx context.Context, t *models.Template, in domain.TemplateInput) error
}

// ProviderEvents records what the providers report (*inbound.Recorder
// implements it).
type ProviderEvents interface {
	RecordBounce(ctx context.Context, dsn email.DSN) (domain.BounceOutcome, error)
	RecordDeliveryReceipt(ctx context.Context, r sms.DeliveryReceipt) (domain.ReceiptOutcome, error)
	RecordInboundSMS(ctx context.Context, in sms.Inbound) (domain.InboundOutcome, error)
	RecordInboundEmail(ctx context.Context, r email.Reply) (domain.InboundEmailOutcome, error)
}
