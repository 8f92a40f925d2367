package app

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// startJourneyChange starts the operation that tells the running journeys
// following journeyID (and, when it is adm's default, those of customers
// without their own journey) to re-plan: a JourneyChange workflow that
// pages over them and records its progress on the operation row. The
// request that changed the journey answers at once with the operation.
// When Temporal does not take the start, the operation is recorded as
// failed and the error wraps ErrUnavailable: the change is stored, and
// repeating the request starts a new operation.
func (s *Service) startJourneyChange(ctx context.Context, adm *models.Administration, journeyID int64) (*models.Operation, error) {
	op := models.Operation{
		OrganizationID: adm.OrganizationID, AdministrationID: adm.ID, Kind: models.OperationJourneyChange,
		JourneyID: &journeyID, State: models.OperationRunning,
	}
	db := s.db.WithContext(ctx)
	if err := db.Create(&op).Error; err != nil {
		return nil, storeErr(err, "record journey change of journey %d", journeyID)
	}
	op.WorkflowID = workflows.OperationWorkflowID(adm.ID, op.ID)
	if err := db.Model(&op).Update("workflow_id", op.WorkflowID).Error; err != nil {
		return nil, storeErr(err, "record journey change of journey %d", journeyID)
	}
	in := workflows.JourneyChangeInput{Scope: activities.JourneyChangeScope{
		OperationID: op.ID, AdministrationID: adm.ID, JourneyID: journeyID,
		Unassigned: adm.DefaultJourneyID != nil && *adm.DefaultJourneyID == journeyID,
	}, PageSize: s.changePageSize, PagesPerRun: s.changePagesPerRun}
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: op.WorkflowID, TaskQueue: workflows.TaskQueue,
		StaticSummary: fmt.Sprintf("Journey %d changed: re-plan the running journeys of administration %s (%d)", journeyID, adm.Name, adm.ID),
	}, workflows.JourneyChangeName, in)
	if err == nil {
		return &op, nil
	}
	now := s.Now()
	op.State, op.LastError, op.FinishedAt = models.OperationFailed, "not started: "+err.Error(), &now
	if uerr := s.db.WithContext(context.WithoutCancel(ctx)).Model(&op).
		Updates(map[string]any{"state": op.State, "last_error": op.LastError, "finished_at": now}).Error; uerr != nil {
		s.log.Error("record failed start of journey change", "operation_id", op.ID, "error", uerr)
	}
	if temporalUnavailable(err) {
		return &op, fmt.Errorf("start journey change of journey %d: %w: %w", journeyID, domain.ErrUnavailable, err)
	}
	return &op, fmt.Errorf("start journey change of journey %d: %w", journeyID, err)
}

// Operation loads an operation of organization org; another organization's
// is ErrNotFound.
func (s *Service) Operation(ctx context.Context, org, id int64) (*models.Operation, error) {
	var op models.Operation
	if err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", id, org).First(&op).Error; err != nil {
		return nil, storeErr(err, "operation %d", id)
	}
	return &op, nil
}
