package inbound

import "github.com/relance/relance/domain"

// Names that moved to package domain, kept here while code written against
// them moves over.
type (
	BounceOutcome  = domain.BounceOutcome
	ReceiptOutcome = domain.ReceiptOutcome
	InboundOutcome = domain.InboundOutcome
)

var (
	ErrUnknownEmail   = domain.ErrUnknownEmail
	ErrUnknownMessage = domain.ErrUnknownMessage
	ErrUnknownSender  = domain.ErrUnknownSender
)

const (
	AttentionEmailBounced = domain.AttentionEmailBounced
	DeliveryBounced       = domain.DeliveryBounced
	DeliveryDelayed       = domain.DeliveryDelayed
	DeliveryDelivered     = domain.DeliveryDelivered
)
