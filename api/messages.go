package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/models"
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
	c.JSON(http.StatusOK, MessagePreview{ID: m.ID, CustomerID: m.CustomerID, InvoiceID: m.InvoiceID, Kind: m.Kind, Channel: m.Channel,
		State: m.State, Reason: m.Reason, Manual: m.Manual, Recipient: m.Recipient, Subject: m.Subject, HTML: m.BodyHTML, Text: m.BodyText,
		Segments: m.Segments, TemplateID: m.TemplateID, TemplateVersion: m.TemplateVersion, DeliveryStatus: m.DeliveryStatus,
		SentAt: m.SentAt, CreatedAt: m.CreatedAt, To: m.To, Cc: m.Cc, Bcc: m.Bcc})
}
