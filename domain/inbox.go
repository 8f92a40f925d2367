package domain

import (
	"errors"
	"time"

	"github.com/relance/relance/models"
)

// The inbox (docs/domain.md §1.8).

// MaxReplyRunes bounds the text of an admin's reply: an email answer, not a
// document (a longer text belongs in an attachment, which replies do not
// carry). The API's body limit bounds the request before this rule.
const MaxReplyRunes = 10000

// ReplyKind is the outbox kind of an inbox reply (models.Message.Kind).
const ReplyKind = "inbox_reply"

// ReplyKeyPrefix starts the outbox key of an inbox reply's email
// ("inbox-reply:<inbox message id>/email"); an email answering that email
// joins the reply's conversation.
const ReplyKeyPrefix = "inbox-reply:"

// Subjects of the conversations that inbound messages open: the one that
// collects a customer's text messages, and that of an email without a
// subject.
const (
	SMSConversationSubject   = "SMS"
	EmailConversationSubject = "Email"
)

// ReplyNoEmail is the reason of a reply's outbox row when the customer has
// no address to send it to: the reply is kept and shown in the portal.
const ReplyNoEmail = "no_email_address"

// InboxFilter narrows the organization's conversations; zero fields do not
// filter.
type InboxFilter struct {
	Unread           *bool
	AdministrationID int64
	CustomerID       int64
	InvoiceID        int64
	CaseID           int64
}

// InboxMessageView is one message of a conversation as the inbox shows it.
type InboxMessageView struct {
	models.InboxMessage
	// Attachments are the files that came with an inbound email (their
	// bytes are served apart).
	Attachments []models.InboxAttachment `json:"attachments"`
	// Delivery is, for a reply, the state of its email in the outbox
	// (queued, sent, failed, skipped, …) and why; nil for other messages.
	Delivery *ReplyDelivery `json:"delivery,omitempty"`
}

// ReplyDelivery is where a reply's email stands in the outbox.
type ReplyDelivery struct {
	OutboxMessageID int64               `json:"outbox_message_id"`
	State           models.MessageState `json:"state"`
	Reason          string              `json:"reason,omitempty"`
	Recipient       string              `json:"recipient,omitempty"`
	SentAt          *time.Time          `json:"sent_at,omitempty"`
}

// ConversationDetail is a conversation with its messages, oldest first.
type ConversationDetail struct {
	Conversation models.Conversation `json:"conversation"`
	Messages     []InboxMessageView  `json:"messages"`
}

// ReplyInput is an admin's answer in a conversation.
type ReplyInput struct {
	Body string
	// Author names who answered (shown in the inbox, not to the customer);
	// empty means "admin".
	Author string
}

// UnreadCount is the number of unread conversations of one customer,
// invoice or collection case.
type UnreadCount struct {
	ID     int64 `json:"id"`
	Unread int   `json:"unread"`
}

// UnreadSummary is the organization's unread conversations counted per
// customer (its own and its invoices' and cases' together), per invoice and
// per case: the dashboard widgets of seed 003.
type UnreadSummary struct {
	Total     int           `json:"total"`
	Customers []UnreadCount `json:"customers"`
	Invoices  []UnreadCount `json:"invoices"`
	Cases     []UnreadCount `json:"cases"`
}

// OrganizationSettingsPatch changes the organization's settings; nil fields
// stay as they are.
type OrganizationSettingsPatch struct {
	InboxRead *models.InboxReadMode
}

// InboundEmailOutcome is what RecordInboundEmail did.
type InboundEmailOutcome struct {
	Customer     models.Customer
	Conversation models.Conversation
	Message      models.InboxMessage
	// Attachments are the stored attachments (refused ones included).
	Attachments []models.InboxAttachment
	// MatchedBy says how the customer was found: "headers" (In-Reply-To or
	// References named an email Relance sent) or "sender" (the From
	// address of exactly one organization's customers).
	MatchedBy string
	// Duplicate is true when this email (by its Message-ID) was filed
	// already: the MTA delivered it twice.
	Duplicate bool
}

// ErrAmbiguousSender: an inbound email or SMS names no message Relance sent
// and its sender is a customer of several organizations; filing it under
// any one of them could show it to the wrong company, so it is not filed.
var ErrAmbiguousSender = errors.New("the sender is a customer of several organizations and the message answers none of their messages")
