package domain

import (
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/models"
)

// AttentionEmailBounced flags an invoice one of whose emails bounced after
// it was sent (a DSN with Action failed): the customer's address needs
// checking before the next message goes to it.
const AttentionEmailBounced = "email_bounced"

// Delivery statuses an email row gets from a DSN (models.Message.DeliveryStatus).
const (
	DeliveryBounced   = "bounced"
	DeliveryDelayed   = "delayed"
	DeliveryDelivered = "delivered"
)

// BounceOutcome is what RecordBounce did.
type BounceOutcome struct {
	// Message is the outbox row after the update.
	Message models.Message
	// Recipient is the DSN recipient block that was applied.
	Recipient email.DSNRecipient
	// Updated is false when the report changed nothing: the row already
	// said so (the same DSN again), a final verdict outranks it (a delay
	// after a bounce), or its action means nothing for the row.
	Updated bool
	// Duplicate is true when the row already had the report's verdict (the
	// MTA posted the same DSN again).
	Duplicate bool
	// Flagged is true when the invoice was flagged AttentionEmailBounced.
	Flagged bool
}

// ReceiptOutcome is what RecordDeliveryReceipt did.
type ReceiptOutcome struct {
	// Message is the outbox row after the update.
	Message models.Message
	// Updated is false when the row already had a status that outranks the
	// receipt's (e.g. a "delivered" part after a "failed" one).
	Updated bool
}

// InboundOutcome is what RecordInboundSMS did.
type InboundOutcome struct {
	// Customer is the customer the SMS was filed under.
	Customer models.Customer
	// Conversation is the customer's SMS conversation.
	Conversation models.Conversation
	// Message is the inbox message: the SMS, or the whole text once every
	// part of a long SMS has arrived; zero while parts are missing.
	Message models.InboxMessage
	// Duplicate is true when this SMS (or part) was already recorded:
	// Vonage repeats a webhook whose answer it did not get.
	Duplicate bool
	// Pending is true when this is one part of a long SMS whose other parts
	// have not all arrived; the parts are stored and joined later.
	Pending bool
	// Candidates counts the customers with that mobile number; more than
	// one means the choice (the one last texted, else the oldest) is worth
	// a log line.
	Candidates int
}
