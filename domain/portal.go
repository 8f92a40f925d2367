package domain

import (
	"errors"
	"time"
)

// Portal errors: a link that was well signed but expired, or a customer
// whose portal access an admin revoked. A forged or rotated link is
// ErrNotFound: nothing tells it apart from a link that never existed.
var (
	ErrLinkExpired = errors.New("portal link expired")
	ErrLinkRevoked = errors.New("portal access revoked")
)

// Portal limits: a message body and a dispute reason are at most
// PortalMaxMessage characters; a promise to pay is at most
// PortalMaxPromiseDays ahead (a longer delay is a payment plan, agreed with
// the company, not a click).
const (
	PortalMaxMessage     = 4000
	PortalMaxPromiseDays = 60
)

// PortalView is everything the portal shows one customer: its own open
// invoices and cases, what was sent about them, and its conversations.
type PortalView struct {
	CustomerName  string
	Language      string
	Email         string
	ProvidedEmail string
	CompanyName   string
	CompanyEmail  string
	CompanyPhone  string
	Invoices      []PortalInvoice
	Cases         []PortalCase
	Conversations []PortalConversation
}

// PortalInvoice is one open invoice of the customer.
type PortalInvoice struct {
	ID            int64
	Number        string
	IssueDate     time.Time
	DueDate       time.Time
	AmountMinor   int64
	OpenMinor     int64
	Currency      string
	Overdue       bool
	Disputed      bool
	PausedUntil   *time.Time
	PromisedUntil *time.Time
	Sent          []PortalSent
}

// PortalCase is one open collection case of the customer.
type PortalCase struct {
	ID          int64
	Stage       string
	Currency    string
	OpenMinor   int64
	ExtraMinor  int64 // interest and costs due, after any waiver
	InvoiceNums []string
	Sent        []PortalSent
}

// PortalSent is one message that reached the customer (or was posted).
type PortalSent struct {
	ID      int64
	Kind    string
	Channel string
	Subject string
	SentAt  time.Time
	// Letter: a copy of the letter can be downloaded as a PDF.
	Letter bool
}

// PortalConversation is one conversation, oldest message first.
type PortalConversation struct {
	ID        int64
	Subject   string
	InvoiceID *int64
	CaseID    *int64
	Messages  []PortalMessage
}

// PortalMessage is one message of a conversation: the customer's
// (Inbound) or the company's reply.
type PortalMessage struct {
	Inbound bool
	Author  string
	Body    string
	At      time.Time
}

// PortalMessageInput is what the customer writes: about the account, or
// one of its invoices or cases.
type PortalMessageInput struct {
	InvoiceID *int64
	CaseID    *int64
	Body      string
}
