package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// IdempotencyHeader carries a manual action's idempotency key: a request
// repeated with the same key (a client's retry) sends nothing twice.
const IdempotencyHeader = "Idempotency-Key"

// ActionRequest sends a step of an invoice's journey now. Without step it is
// a manual action of that kind, whose subject and body may be the admin's
// own text; with step it sends that planned step of the journey as it is
// (an automatic step: its text cannot be edited). Channels narrows the
// channels the rules allow.
type ActionRequest struct {
	Kind     policy.StepKind  `json:"kind"`
	Step     *int             `json:"step,omitempty"`
	Channels []policy.Channel `json:"channels,omitempty"`
	Subject  string           `json:"subject,omitempty"`
	Body     string           `json:"body,omitempty"`
}

// Action statuses on the wire.
const (
	ActionSent       = "sent"
	ActionHandedOver = "handed_over"
	ActionSkipped    = "skipped"
	ActionFailed     = "failed"
	ActionPending    = "pending"
)

// ActionView answers a manual action: its idempotency key, its status
// (sent, handed_over, skipped, failed, or pending while the journey still
// sends it), the
// journey's stage after it, and the message of each channel with the link
// to its preview.
type ActionView struct {
	IdempotencyKey string              `json:"idempotency_key"`
	Status         string              `json:"status"`
	Reason         string              `json:"reason,omitempty"`
	Stage          domain.Stage        `json:"stage,omitempty"`
	Messages       []ActionMessageView `json:"messages"`
	Timeline       string              `json:"timeline"`
}

// ActionMessageView is the outcome of a manual action on one channel.
type ActionMessageView struct {
	Channel   string `json:"channel"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	MessageID int64  `json:"message_id,omitempty"`
	Preview   string `json:"preview,omitempty"`
}

// previewLink is the address of a message's preview.
func previewLink(id int64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprintf("/api/v1/messages/%d/preview", id)
}

// sendAction sends a step of the invoice's journey now: 200 with the
// outcome when the send finished within the wait, 202 while it goes on.
func (s *Server) sendAction(c *gin.Context) {
	inv, req, ok := objectAndBody[*models.Invoice, ActionRequest](c, s.invoice, true)
	if !ok {
		return
	}
	key := strings.TrimSpace(c.GetHeader(IdempotencyHeader))
	if key == "" {
		key = uuid.NewString()
	}
	in := domain.ActionInput{Key: key, Kind: req.Kind, Position: req.Step, Channels: req.Channels,
		Subject: strings.TrimSpace(req.Subject), Body: strings.TrimSpace(req.Body)}
	if in.Kind == "" {
		fail(c, badInput("kind", "is required"))
		return
	}
	res, err := s.App.SendAction(c.Request.Context(), inv, in)
	if err != nil {
		fail(c, err)
		return
	}
	v := ActionView{IdempotencyKey: res.Key, Reason: res.Reason, Stage: res.Stage, Messages: []ActionMessageView{},
		Timeline: fmt.Sprintf("/api/v1/invoices/%d/timeline", inv.ID)}
	for _, o := range res.Outcomes {
		v.Messages = append(v.Messages, ActionMessageView{Channel: o.Channel, State: o.State, Reason: o.Reason,
			MessageID: o.MessageID, Preview: previewLink(o.MessageID)})
	}
	status := http.StatusOK
	switch {
	case res.Pending:
		v.Status, status = ActionPending, http.StatusAccepted
	case res.HandedOver:
		v.Status = ActionHandedOver
	case res.Failed:
		v.Status = ActionFailed
	case res.Skipped:
		v.Status = ActionSkipped
	default:
		v.Status = ActionSent
	}
	c.Header(IdempotencyHeader, res.Key)
	logger(c).Info("manual action", "invoice_id", inv.ID, "key", res.Key, "kind", in.Kind, "status", v.Status)
	c.JSON(status, v)
}
