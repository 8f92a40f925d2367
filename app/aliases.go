package app

import "github.com/relance/relance/domain"

// Names that moved to package domain, kept here while code written against
// them moves over.
type (
	FieldError                  = domain.FieldError
	PageRequest                 = domain.PageRequest
	CustomerFilter              = domain.CustomerFilter
	InvoiceFilter               = domain.InvoiceFilter
	CustomerPatch               = domain.CustomerPatch
	CustomerSendSettingsPatch   = domain.CustomerSendSettingsPatch
	AdministrationSettingsPatch = domain.AdministrationSettingsPatch
	JourneyInput                = domain.JourneyInput
	PaymentInput                = domain.PaymentInput
	PaymentResult               = domain.PaymentResult
	ImportOptions               = domain.ImportOptions
	ImportReport                = domain.ImportReport
	ImportCustomerCounts        = domain.ImportCustomerCounts
	ImportInvoiceCounts         = domain.ImportInvoiceCounts
	ImportRowError              = domain.ImportRowError
	ImportSkippedCustomer       = domain.ImportSkippedCustomer
	ParsedFile                  = domain.ParsedFile
	Readiness                   = domain.Readiness
)

// Page is domain.Page.
type Page[T any] = domain.Page[T]

var (
	ErrNotFound         = domain.ErrNotFound
	ErrConflict         = domain.ErrConflict
	ErrUnavailable      = domain.ErrUnavailable
	ErrNoProvidedEmail  = domain.ErrNoProvidedEmail
	ErrNotSignalled     = domain.ErrNotSignalled
	ErrInvalidPhone     = domain.ErrInvalidPhone
	ErrDuplicate        = domain.ErrDuplicate
	ErrJourneyEnded     = domain.ErrJourneyEnded
	ErrInvoiceClosed    = domain.ErrInvoiceClosed
	ErrDisputeState     = domain.ErrDisputeState
	ErrDuplicatePayment = domain.ErrDuplicatePayment
	ErrPaymentAmount    = domain.ErrPaymentAmount
	ErrPaymentCurrency  = domain.ErrPaymentCurrency
	ErrInvalidKey       = domain.ErrInvalidKey
	ErrTooLarge         = domain.ErrTooLarge
	Invalid             = domain.Invalid
	RuleBroken          = domain.RuleBroken
	ValidEmail          = domain.ValidEmail
	ValidCountry        = domain.ValidCountry
	ValidLanguage       = domain.ValidLanguage
	ParseFile           = domain.ParseFile
	ReadLimited         = domain.ReadLimited
)

const (
	FormatCSV                = domain.FormatCSV
	FormatJSON               = domain.FormatJSON
	ReasonNoOpenInvoice      = domain.ReasonNoOpenInvoice
	DefaultImportConcurrency = domain.DefaultImportConcurrency
)
