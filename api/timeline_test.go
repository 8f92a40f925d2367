package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// TestTimelineAndActionsWithoutTheJourney: the timeline merges an
// invoice's messages, delivery reports, payments and events in time order
// with preview links, and still answers (planned_error) when the journey
// cannot be asked; manual actions refuse bad input before asking the
// journey; another organization's invoice is 404 on both.
func TestTimelineAndActionsWithoutTheJourney(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newTenantEnv(t, gdb)
		adm := testCreateAdministration(t, e)
		cust := testCreateCustomer(t, e, adm)
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		inv := models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: "T-1", IssueDate: t0, DueDate: t0.AddDate(0, 0, 14),
			Currency: "EUR", AmountMinor: 10000, OpenMinor: 4000, Status: models.InvoiceOpen, Stage: "reminded", WorkflowID: "invoice:x:T-1"}
		require.NoError(t, gdb.Create(&inv).Error)
		at := func(h int) *time.Time { v := t0.Add(time.Duration(h) * time.Hour); return &v }
		bounced := models.Message{Key: "k/0/invoice/email", AdministrationID: adm.ID, CustomerID: cust.ID, InvoiceID: &inv.ID,
			Kind: "invoice", Channel: "email", State: models.MessageFailed, Reason: "550 5.1.1 user unknown", Recipient: cust.Email,
			Subject: "Invoice T-1", SentAt: at(0), DeliveryStatus: "bounced", DeliveryAt: at(2), TemplateVersion: 3}
		skipped := models.Message{Key: "k/3/sms/sms", AdministrationID: adm.ID, CustomerID: cust.ID, InvoiceID: &inv.ID,
			Kind: "sms", Channel: "sms", State: models.MessageSkipped, Reason: "sms_disabled_for_customer", CreatedAt: *at(5)}
		require.NoError(t, gdb.Create(&bounced).Error)
		require.NoError(t, gdb.Create(&skipped).Error)
		require.NoError(t, gdb.Create(&models.Payment{InvoiceID: inv.ID, AmountMinor: 6000, Currency: "EUR", PaidAt: *at(8), CreatedAt: *at(9), Reference: "bank"}).Error)
		require.NoError(t, gdb.Create(&[]models.InvoiceEvent{
			{AdministrationID: adm.ID, InvoiceID: inv.ID, Kind: models.EventResumed, At: *at(4)},
			{AdministrationID: adm.ID, InvoiceID: inv.ID, Kind: models.EventPaused, Detail: "called", At: *at(3)},
		}).Error)

		r := e.call("GET", fmt.Sprintf("/api/v1/invoices/%d/timeline", inv.ID), e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var tl api.TimelineView
		r.json(t, &tl)
		var kinds []string
		for _, en := range tl.Entries {
			kinds = append(kinds, en.Kind)
		}
		require.Equal(t, []string{"message", "delivery", "paused", "resumed", "message", "payment"}, kinds)
		require.Equal(t, fmt.Sprintf("/api/v1/messages/%d/preview", bounced.ID), tl.Entries[0].Message.Preview)
		require.Equal(t, 3, tl.Entries[0].Message.TemplateVersion)
		require.Equal(t, "bounced", tl.Entries[1].Detail)
		require.Equal(t, "sms_disabled_for_customer", tl.Entries[4].Message.Reason)
		require.EqualValues(t, 6000, tl.Entries[5].AmountMinor)
		require.Empty(t, tl.Planned)
		require.NotEmpty(t, tl.PlannedError, "without Temporal the past is shown and the plan's absence explained")

		actions := fmt.Sprintf("/api/v1/invoices/%d/actions", inv.ID)
		e.call("GET", fmt.Sprintf("/api/v1/invoices/%d/timeline", inv.ID), e.keyB, nil).problem(t, http.StatusNotFound)
		e.call("POST", actions, e.keyB, map[string]any{"kind": "reminder"}).problem(t, http.StatusNotFound)
		p := e.call("POST", actions, e.keyA, map[string]any{"kind": "fax"}).problem(t, http.StatusBadRequest)
		require.Equal(t, "kind", p.Field)
		e.call("POST", actions, e.keyA, map[string]any{}).problem(t, http.StatusBadRequest)
		e.call("POST", actions, e.keyA, map[string]any{"kind": "reminder", "channels": []string{"fax"}}).problem(t, http.StatusBadRequest)
		e.call("POST", actions, e.keyA, map[string]any{"kind": "reminder", "colour": "red"}).problem(t, http.StatusBadRequest)
		p = e.call("POST", actions, e.keyA, map[string]any{"kind": "reminder", "step": 1, "subject": "Mine"}).problem(t, http.StatusUnprocessableEntity)
		require.Contains(t, p.Detail, "automatic step cannot be edited")
		// Without Temporal a valid action is 503: nothing was sent.
		r = e.call("POST", actions, e.keyA, map[string]any{"kind": "reminder", "body": "Please call us"})
		require.Equal(t, http.StatusServiceUnavailable, r.status, string(r.body))
		require.NotEmpty(t, r.header.Get("Retry-After"))

		require.NoError(t, gdb.Model(&inv).Updates(map[string]any{"status": models.InvoicePaid, "open_minor": 0}).Error)
		p = e.call("POST", actions, e.keyA, map[string]any{"kind": "reminder"}).problem(t, http.StatusUnprocessableEntity)
		require.Contains(t, p.Detail, "paid")
		r = e.call("GET", fmt.Sprintf("/api/v1/invoices/%d/timeline", inv.ID), e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status)
		tl = api.TimelineView{}
		r.json(t, &tl)
		require.Empty(t, tl.PlannedError, "a paid invoice plans nothing: the journey is not asked")
	})
}
