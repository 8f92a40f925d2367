package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/domain"
)

// minBounceBodyBytes is the least body a bounce may have: a DSN often
// carries the whole original message, which is larger than the JSON bodies
// RELANCE_MAX_BODY_BYTES is sized for.
const minBounceBodyBytes = 10 << 20

// bounceContentTypes are the body types the webhook reads as a raw message.
var bounceContentTypes = []string{"message/rfc822", "text/plain", "application/octet-stream"}

// emailBounce records a delivery status notification on the email it is
// about. What no retry can fix (an unknown Message-ID, a verdict already
// recorded) is answered 200 so the MTA does not queue the report again; a
// message that is not a DSN is 400 with the reason, a database failure 500.
func (s *Server) emailBounce(c *gin.Context) {
	if !s.mtaPipe(c, "bounce webhook") {
		return
	}
	dsn, err := email.ParseDSN(c.Request.Body)
	if err != nil {
		if errors.Is(err, email.ErrNotDSN) {
			logger(c).Info("bounce webhook: not a DSN", "reason", err)
		}
		fail(c, webhookInput(err))
		return
	}
	out, err := s.Inbound.RecordBounce(c.Request.Context(), dsn)
	switch {
	case errors.Is(err, domain.ErrUnknownEmail):
		logger(c).Warn("bounce for an unknown email", "message_id", dsn.MessageID, "reporting_mta", dsn.ReportingMTA)
		c.JSON(http.StatusOK, WebhookAnswer{Result: "unknown_message"})
		return
	case err != nil:
		fail(c, err) // 500: the MTA keeps the report and tries again
		return
	}
	result := "recorded"
	switch {
	case out.Duplicate:
		result = "duplicate"
	case !out.Updated:
		result = "ignored"
	}
	logger(c).Info("email bounce report", "message", out.Message.Key, "message_id", dsn.MessageID,
		"action", out.Recipient.Action, "status", out.Recipient.Status, "state", out.Message.State,
		"delivery_status", out.Message.DeliveryStatus, "invoice_flagged", out.Flagged, "result", result)
	c.JSON(http.StatusOK, WebhookAnswer{Result: result})
}

// bounceSecretOK compares the request's secret (bearer token, else the
// secret query parameter) with the configured one in constant time; the
// SHA-256 of both is compared so that the length does not leak either.
func bounceSecretOK(c *gin.Context, secret string) bool {
	given := ""
	if h := c.GetHeader("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		given = strings.TrimSpace(token)
	} else {
		given = c.Query("secret")
	}
	if given == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// mtaPipe admits a message an MTA pipes to a webhook (bounces, replies):
// the route exists only with SMTP_BOUNCE_SECRET set, the secret must be
// given, and the body must be a raw message. It answers the refusal itself.
func (s *Server) mtaPipe(c *gin.Context, name string) bool {
	secret := s.Config.SMTP.BounceSecret
	if secret == "" {
		// Off: the route answers as if it did not exist.
		fail(c, notFound("route "+c.Request.Method+" "+c.Request.URL.Path))
		return false
	}
	if !bounceSecretOK(c, secret) {
		logger(c).Warn(name+": secret missing or wrong", "remote", c.ClientIP())
		fail(c, fmt.Errorf("%w: the %s needs Authorization: Bearer <SMTP_BOUNCE_SECRET> or ?secret=", ErrUnauthorized, name))
		return false
	}
	if ct := c.ContentType(); ct != "" && !slices.Contains(bounceContentTypes, ct) {
		writeProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Title: "Unsupported media type",
			Detail: fmt.Sprintf("content type %q: send the raw message as %s", ct, strings.Join(bounceContentTypes, ", "))})
		return false
	}
	return true
}
