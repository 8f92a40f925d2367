package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/app"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// PauseRequest pauses a journey until a date (RFC 3339 or YYYY-MM-DD) or until resumed.
type PauseRequest struct {
	Until  string `json:"until,omitempty"`
	Reason string `json:"reason"`
}

// ResumeRequest ends a pause.
type ResumeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// parse validates the pause against now: a date in the past breaks a rule.
func (r PauseRequest) parse(now time.Time) (*time.Time, string, error) {
	reason := strings.TrimSpace(r.Reason)
	if reason == "" {
		return nil, "", badInput("reason", "is required: say why the journey pauses")
	}
	if len(reason) > 255 {
		return nil, "", badInput("reason", "is longer than 255 characters")
	}
	if r.Until == "" {
		return nil, reason, nil
	}
	t, err := time.Parse(time.RFC3339, r.Until)
	if err != nil {
		if t, err = time.Parse(dateLayout, r.Until); err != nil {
			return nil, "", badInput("until", "%q is neither RFC 3339 nor YYYY-MM-DD", r.Until)
		}
	}
	t = t.UTC()
	if !t.After(now) {
		return nil, "", ruleBroken("until", "%s is in the past", t.Format(time.RFC3339))
	}
	return &t, reason, nil
}

// pauseInvoice pauses the invoice's journey: the database keeps the pause
// for lists and filters, the workflow stops sending until the date or a resume.
func (s *Server) pauseInvoice(c *gin.Context) {
	id, req, ok := idAndBody[PauseRequest](c)
	if !ok {
		return
	}
	inv, err := s.invoice(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	now := s.now()
	until, reason, err := req.parse(now)
	if err != nil {
		fail(c, err)
		return
	}
	if inv.Status != models.InvoiceOpen {
		fail(c, conflict("invoice %s is %s: its journey has ended", inv.Number, inv.Status))
		return
	}
	err = s.App.Signal(c.Request.Context(), inv.WorkflowID, workflows.SignalPause, workflows.PauseSignal{Until: until, Reason: reason})
	if errors.Is(err, app.ErrJourneyEnded) {
		fail(c, conflict("the journey of invoice %s has ended", inv.Number))
		return
	}
	if err != nil {
		fail(c, errors.Join(ErrUnavailable, err))
		return
	}
	if err := s.DB.WithContext(c.Request.Context()).Model(inv).Updates(map[string]any{
		"paused_at": now, "paused_until": until, "pause_reason": reason,
	}).Error; err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("invoice paused", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "until", until)
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}

func (s *Server) resumeInvoice(c *gin.Context) {
	id, req, ok := idAndMaybeBody[ResumeRequest](c, false)
	if !ok {
		return
	}
	inv, err := s.invoice(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	if inv.Status != models.InvoiceOpen {
		fail(c, conflict("invoice %s is %s: its journey has ended", inv.Number, inv.Status))
		return
	}
	if inv.PausedAt == nil || (inv.PausedUntil != nil && !inv.PausedUntil.After(s.now())) {
		fail(c, conflict("invoice %s is not paused", inv.Number))
		return
	}
	err = s.App.Signal(c.Request.Context(), inv.WorkflowID, workflows.SignalResume, workflows.ResumeSignal{Reason: req.Reason})
	if errors.Is(err, app.ErrJourneyEnded) {
		fail(c, conflict("the journey of invoice %s has ended", inv.Number))
		return
	}
	if err != nil {
		fail(c, errors.Join(ErrUnavailable, err))
		return
	}
	if err := s.DB.WithContext(c.Request.Context()).Model(inv).Updates(map[string]any{
		"paused_at": nil, "paused_until": nil, "pause_reason": "",
	}).Error; err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}
