package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/models"
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

// parse reads the pause: a reason, and an end date or none.
func (r PauseRequest) parse() (*time.Time, string, error) {
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
	return &t, reason, nil
}

// pauseInvoice pauses the invoice's journey until the date or a resume.
func (s *Server) pauseInvoice(c *gin.Context) {
	inv, req, ok := objectAndBody[*models.Invoice, PauseRequest](c, s.invoice, true)
	if !ok {
		return
	}
	until, reason, err := req.parse()
	if err == nil {
		err = s.App.PauseInvoice(c.Request.Context(), inv, until, reason)
	}
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("invoice paused", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "until", until)
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}

func (s *Server) resumeInvoice(c *gin.Context) {
	inv, req, ok := objectAndBody[*models.Invoice, ResumeRequest](c, s.invoice, false)
	if !ok {
		return
	}
	if err := s.App.ResumeInvoice(c.Request.Context(), inv, strings.TrimSpace(req.Reason)); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.invoiceView(c, inv))
}
