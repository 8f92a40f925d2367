package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// MessagePreview is one outbox message as it was rendered and handed to
// the provider: the email's subject, HTML and text parts (the SMTP client
// wraps them in MIME), the SMS text, or a letter's subject and paragraphs.
type MessagePreview struct {
	ID              int64               `json:"id"`
	CustomerID      int64               `json:"customer_id"`
	InvoiceID       *int64              `json:"invoice_id,omitempty"`
	Kind            string              `json:"kind"`
	Channel         string              `json:"channel"`
	State           models.MessageState `json:"state"`
	Reason          string              `json:"reason,omitempty"`
	Manual          bool                `json:"manual"`
	Recipient       string              `json:"recipient"`
	Subject         string              `json:"subject,omitempty"`
	HTML            string              `json:"html,omitempty"`
	Text            string              `json:"text,omitempty"`
	Segments        int                 `json:"segments,omitempty"`
	TemplateID      *int64              `json:"template_id,omitempty"`
	TemplateVersion int                 `json:"template_version,omitempty"`
	DeliveryStatus  string              `json:"delivery_status,omitempty"`
	SentAt          *time.Time          `json:"sent_at,omitempty"`
	CreatedAt       time.Time           `json:"created_at"`

	// To, Cc and Bcc are an email's addresses as it was sent (Bcc: the
	// administration's archive copy, in no header).
	To  []string `json:"to,omitempty"`
	Cc  []string `json:"cc,omitempty"`
	Bcc []string `json:"bcc,omitempty"`

	// Bundle is set for a customer's bundle message: the invoices it covered.
	Bundle *MessageBundleView `json:"bundle,omitempty"`
}

// MessageBundleView is what a bundle message covered (docs/bundling.md):
// its bundle workflow and key, and each invoice with the step of its
// journey that went out in it.
type MessageBundleView struct {
	WorkflowID string               `json:"workflow_id"`
	BundleKey  string               `json:"bundle_key"`
	Invoices   []BundledInvoiceView `json:"invoices"`
}

// BundledInvoiceView is one invoice a bundle message covered, as it
// stands now (open_minor), with its step (position, step_kind).
type BundledInvoiceView struct {
	InvoiceID int64           `json:"invoice_id"`
	Number    string          `json:"number"`
	Currency  string          `json:"currency"`
	OpenMinor int64           `json:"open_minor"`
	DueDate   time.Time       `json:"due_date"`
	Position  int             `json:"position"`
	StepKind  policy.StepKind `json:"step_kind"`
}

// message loads an outbox message of the caller's organization.
func (s *Server) message(c *gin.Context, id int64) (*models.Message, error) {
	return s.App.Message(c.Request.Context(), orgID(c), id)
}

func (s *Server) previewMessage(c *gin.Context) {
	m, ok := object(c, s.message)
	if !ok {
		return
	}
	b, err := s.App.MessageBundle(c.Request.Context(), m)
	if err != nil {
		fail(c, err)
		return
	}
	v := MessagePreview{ID: m.ID, CustomerID: m.CustomerID, InvoiceID: m.InvoiceID, Kind: m.Kind, Channel: m.Channel,
		State: m.State, Reason: m.Reason, Manual: m.Manual, Recipient: m.Recipient, Subject: m.Subject, HTML: m.BodyHTML, Text: m.BodyText,
		Segments: m.Segments, TemplateID: m.TemplateID, TemplateVersion: m.TemplateVersion, DeliveryStatus: m.DeliveryStatus,
		SentAt: m.SentAt, CreatedAt: m.CreatedAt, To: m.To, Cc: m.Cc, Bcc: m.Bcc}
	if len(b.Invoices) > 0 {
		v.Bundle = &MessageBundleView{WorkflowID: b.WorkflowID, BundleKey: b.BundleKey, Invoices: make([]BundledInvoiceView, len(b.Invoices))}
		for i, inv := range b.Invoices {
			v.Bundle.Invoices[i] = BundledInvoiceView{InvoiceID: inv.InvoiceID, Number: inv.Number, Currency: inv.Currency,
				OpenMinor: inv.OpenMinor, DueDate: inv.DueDate, Position: inv.Position, StepKind: inv.StepKind}
		}
	}
	c.JSON(http.StatusOK, v)
}
