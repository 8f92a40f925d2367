package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/domain"
)

// The Vonage webhooks: delivery receipts and inbound SMS. Vonage calls them
// with GET or POST (form or JSON), as set in its dashboard, so both methods
// are served. Vonage retries any answer but 2xx for a day, so what no retry
// can fix (an unknown message or number) is logged and answered 200.

// WebhookAnswer is the body of a webhook's 200 answer; Result says what was
// done: recorded, duplicate, pending (a part of a long SMS), ignored,
// unknown_message, unknown_sender or ambiguous_sender.
type WebhookAnswer struct {
	Result string `json:"result"`
}

// verifyVonage checks Vonage's signature when a signature secret is
// configured; it answers 401 (or 400 for an unreadable request) itself and
// returns false then.
func (s *Server) verifyVonage(c *gin.Context) bool {
	secret := s.Config.Vonage.SignatureSecret
	if secret == "" {
		return true
	}
	params, err := sms.WebhookParams(c.Request)
	if err != nil {
		fail(c, webhookInput(err))
		return false
	}
	if err := sms.VerifySignature(params, secret, s.Config.Vonage.SignatureMethod, s.now()); err != nil {
		if errors.Is(err, sms.ErrSignature) {
			logger(c).Warn("vonage webhook: signature rejected", "error", err)
			writeProblem(c, Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: err.Error()})
			return false
		}
		fail(c, err) // a misconfigured signature method
		return false
	}
	return true
}

// webhookInput makes a parse error a 400, except a body over the limit (413).
func webhookInput(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return badInput("", "%v", err)
}

// vonageStatus records a delivery receipt on its SMS.
func (s *Server) vonageStatus(c *gin.Context) {
	if !s.verifyVonage(c) {
		return
	}
	r, err := sms.ParseDeliveryReceipt(c.Request)
	if err != nil {
		fail(c, webhookInput(err))
		return
	}
	out, err := s.Inbound.RecordDeliveryReceipt(c.Request.Context(), r)
	switch {
	case errors.Is(err, domain.ErrUnknownMessage):
		logger(c).Warn("vonage receipt for an unknown message", "message_id", r.MessageID, "client_ref", r.ClientRef, "status", r.Status)
		c.JSON(http.StatusOK, WebhookAnswer{Result: "unknown_message"})
		return
	case err != nil:
		fail(c, err) // 500: Vonage retries, which is right for a database outage
		return
	}
	result := "recorded"
	if !out.Updated {
		result = "ignored"
	}
	logger(c).Info("vonage receipt", "message", out.Message.Key, "status", r.Status, "result", result)
	c.JSON(http.StatusOK, WebhookAnswer{Result: result})
}

// vonageInbound files an inbound SMS in the customer's inbox.
func (s *Server) vonageInbound(c *gin.Context) {
	if !s.verifyVonage(c) {
		return
	}
	in, err := sms.ParseInbound(c.Request)
	if err != nil {
		fail(c, webhookInput(err))
		return
	}
	out, err := s.Inbound.RecordInboundSMS(c.Request.Context(), in)
	switch {
	case errors.Is(err, domain.ErrUnknownSender):
		logger(c).Warn("inbound SMS from an unknown number", "message_id", in.MessageID, "from", in.From)
		c.JSON(http.StatusOK, WebhookAnswer{Result: "unknown_sender"})
		return
	case errors.Is(err, domain.ErrAmbiguousSender):
		// Customers of several organizations have the number and none was
		// texted from the number it was sent to: filing it under either
		// could show it to the wrong company.
		logger(c).Warn("inbound SMS: customers of several organizations, none texted from this number: not filed",
			"message_id", in.MessageID, "from", in.From, "to", in.To)
		c.JSON(http.StatusOK, WebhookAnswer{Result: "ambiguous_sender"})
		return
	case err != nil:
		fail(c, err)
		return
	}
	result := "recorded"
	switch {
	case out.Duplicate:
		result = "duplicate"
	case out.Pending:
		result = "pending"
	}
	if out.Candidates > 1 {
		logger(c).Warn("inbound SMS: several customers have this number", "from", in.From, "customers", out.Candidates, "chosen", out.Customer.ID)
	}
	logger(c).Info("inbound SMS", "message_id", in.MessageID, "customer", out.Customer.ID, "conversation", out.Conversation.ID, "result", result)
	c.JSON(http.StatusOK, WebhookAnswer{Result: result})
}
