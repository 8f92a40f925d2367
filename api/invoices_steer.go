package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/app"
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
	if err := s.App.PauseInvoice(c.Request.Context(), inv, until, reason); err != nil {
		fail(c, steerError(err))
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
	if err := s.App.ResumeInvoice(c.Request.Context(), inv, req.Reason); err != nil {
		fail(c, steerError(err))
		return
	}
	logger(c).Info("invoice resumed", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID)
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}

// steerError maps the app's steering errors: a refusal, a closed invoice
// or an ended journey is a conflict, Temporal down is 503.
func steerError(err error) error {
	switch {
	case errors.Is(err, app.ErrRefused), errors.Is(err, app.ErrInvoiceClosed), errors.Is(err, app.ErrJourneyEnded),
		errors.Is(err, app.ErrDisputeState):
		return conflict("%v", err)
	case errors.Is(err, app.ErrUnreachable):
		return errors.Join(ErrUnavailable, err)
	}
	return err
}
