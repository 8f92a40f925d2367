package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/domain"
)

// maxInboundEmailBytes is the least body the inbound email webhook takes: a
// customer's answer with a scan or two of a bank transfer. A larger email is
// refused whole with 413, which makes the MTA's pipe fail so that it
// bounces the email to its sender, who learns it did not arrive; within
// it, an attachment over email.DefaultReplyLimits.MaxAttachment is kept
// without its bytes (named, sized, and marked refused).
const maxInboundEmailBytes = 25 << 20

// emailInbound files a customer's email (an answer to a reminder, piped by
// the MTA) in the inbox. Its secret scheme is the bounce webhook's (the
// same SMTP_BOUNCE_SECRET; off, it answers 404). What no retry can fix (a
// sender Relance does not know, or a customer of several organizations
// answering nothing Relance sent) is answered 200 with the result and
// logged, so the MTA does not queue it again; unreadable MIME is 400, a
// body over the limit 413, a database failure 500.
func (s *Server) emailInbound(c *gin.Context) {
	if !s.mtaPipe(c, "inbound email webhook") {
		return
	}
	r, err := email.ParseReply(c.Request.Body, email.DefaultReplyLimits)
	if err != nil {
		if errors.Is(err, email.ErrNotMail) {
			logger(c).Info("inbound email webhook: unreadable email", "reason", err)
		}
		fail(c, webhookInput(err))
		return
	}
	out, err := s.Inbound.RecordInboundEmail(c.Request.Context(), r)
	switch {
	case errors.Is(err, domain.ErrUnknownSender):
		logger(c).Warn("inbound email from an unknown sender", "from", r.From, "message_id", r.MessageID, "in_reply_to", r.InReplyTo)
		c.JSON(http.StatusOK, WebhookAnswer{Result: "unknown_sender"})
		return
	case errors.Is(err, domain.ErrAmbiguousSender):
		logger(c).Warn("inbound email from a customer of several organizations, answering nothing Relance sent: not filed",
			"from", r.From, "message_id", r.MessageID)
		c.JSON(http.StatusOK, WebhookAnswer{Result: "ambiguous_sender"})
		return
	case err != nil:
		fail(c, err)
		return
	}
	result := "recorded"
	if out.Duplicate {
		result = "duplicate"
	}
	logger(c).Info("inbound email", "message_id", r.MessageID, "customer", out.Customer.ID, "conversation", out.Conversation.ID,
		"matched_by", out.MatchedBy, "attachments", len(out.Attachments), "result", result)
	c.JSON(http.StatusOK, WebhookAnswer{Result: result})
}
