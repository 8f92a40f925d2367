package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
)

// sendStatement sends the customer its open-items statement now, by the
// channel asked for (email, post, sms) or by the channel rules. A channel
// the rules refuse is a 422 naming the reason (mobile_missing,
// statement_sms_disabled, ...); the statement itself runs as a workflow,
// so the answer is 202 with its ID.
func (s *Server) sendStatement(c *gin.Context) {
	cust, req, ok := objectAndBody[*models.Customer, domain.StatementInput](c, s.customer, false)
	if !ok {
		return
	}
	out, err := s.App.SendStatement(c.Request.Context(), cust, req)
	if err != nil {
		fail(c, err)
		return
	}
	logger(c).Info("statement requested", "customer_id", cust.ID, "workflow_id", out.WorkflowID, "channels", out.Channels)
	c.JSON(http.StatusAccepted, out)
}
