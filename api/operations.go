package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/relance/relance/models"
)

// OperationView is an operation to follow (GET /api/v1/operations/{id}):
// a change that reaches many running journeys, done after the request that
// asked for it answered 202. State is running, completed or failed; Total
// is how many running journeys it concerned when it began, Reached how many
// it told, Skipped how many had ended meanwhile, Errors how many it could
// not tell after retries.
type OperationView struct {
	ID               int64                 `json:"id"`
	Kind             models.OperationKind  `json:"kind"`
	AdministrationID int64                 `json:"administration_id"`
	JourneyID        *int64                `json:"journey_id,omitempty"`
	State            models.OperationState `json:"state"`
	Total            int                   `json:"total"`
	Reached          int                   `json:"reached"`
	Skipped          int                   `json:"skipped"`
	Errors           int                   `json:"errors"`
	LastError        string                `json:"last_error,omitempty"`
	WorkflowID       string                `json:"workflow_id"`
	CreatedAt        time.Time             `json:"created_at"`
	UpdatedAt        time.Time             `json:"updated_at"`
	FinishedAt       *time.Time            `json:"finished_at,omitempty"`
}

func operationView(op *models.Operation) OperationView {
	return OperationView{
		ID: op.ID, Kind: op.Kind, AdministrationID: op.AdministrationID, JourneyID: op.JourneyID, State: op.State,
		Total: op.Total, Reached: op.Reached, Skipped: op.Skipped, Errors: op.Errors, LastError: op.LastError,
		WorkflowID: op.WorkflowID, CreatedAt: op.CreatedAt, UpdatedAt: op.UpdatedAt, FinishedAt: op.FinishedAt,
	}
}

// accepted answers 202 with the operation started and where to follow it.
func accepted(c *gin.Context, op *models.Operation) {
	c.Header("Location", fmt.Sprintf("/api/v1/operations/%d", op.ID))
	c.JSON(http.StatusAccepted, operationView(op))
}

func (s *Server) getOperation(c *gin.Context) {
	op, ok := object(c, func(c *gin.Context, id int64) (*models.Operation, error) {
		return s.App.Operation(c.Request.Context(), orgID(c), id)
	})
	if !ok {
		return
	}
	c.JSON(http.StatusOK, operationView(op))
}
