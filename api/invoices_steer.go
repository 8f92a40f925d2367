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

// pauseOf reads the pause of the object load finds from the request: the
// object, the end of the pause (nil: until resumed) and its reason.
func pauseOf[O any](c *gin.Context, load func(*gin.Context, int64) (O, error)) (obj O, until *time.Time, reason string, ok bool) {
	obj, req, ok := objectAndBody[O, PauseRequest](c, load, true)
	if !ok {
		return obj, nil, "", false
	}
	until, reason, err := req.parse()
	if err != nil {
		fail(c, err)
		return obj, nil, "", false
	}
	return obj, until, reason, true
}

// pauseInvoice pauses the invoice's journey until the date or a resume.
func (s *Server) pauseInvoice(c *gin.Context) {
	inv, until, reason, ok := pauseOf(c, s.invoice)
	if !ok {
		return
	}
	if err := s.App.PauseInvoice(c.Request.Context(), inv, until, reason); err != nil {
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
