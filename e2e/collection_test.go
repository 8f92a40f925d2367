package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/costs"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// TestCollectionCaseEndToEnd: an invoice imported 40 days overdue enters
// its journey at the collection step (late entry latest_due), which hands it over: the
// customer's case opens and its notice of default (email and letter with
// the costs and interest filled in, and an SMS) reaches the sinks. A second
// overdue invoice of the same customer joins the same case and produces no
// second notice. Through the API the case is listed and read, a negative
// waiver is 400, and once both invoices are paid the case closes and a
// waiver is 409.
func TestCollectionCaseEndToEnd(t *testing.T) {
	s := newStack(t, testkit.SQLite(t), time.Second)
	// The late entry that goes straight to the latest step due (the default,
	// capped, would start at a reminder and play the rest of the journey).
	require.NoError(t, s.db.Model(&models.Administration{}).Where("id = ?", s.adm.ID).
		Update("late_entry", models.LateEntryLatestDue).Error)
	today := time.Now().UTC()
	due := today.AddDate(0, 0, -40)
	create := func(num string) api.InvoiceView {
		var v api.InvoiceView
		require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
			"customer_id": s.cust.ID, "number": num, "issue_date": today.AddDate(0, 0, -70).Format("2006-01-02"),
			"due_date": due.Format("2006-01-02"), "amount_minor": 50000,
		}, &v))
		return v
	}
	mailsTo := func() []string {
		var out []string
		for _, m := range s.mail.Messages() {
			if strings.Contains(m.To, s.cust.Email) {
				out = append(out, m.Text)
			}
		}
		return out
	}

	first := create(fmt.Sprintf("COLL-A-%d", today.UnixNano()))
	require.Eventually(t, func() bool { return len(mailsTo()) == 1 && len(s.vonage.Messages()) == 1 }, testkit.Patience, 100*time.Millisecond)
	var inv models.Invoice
	require.NoError(t, s.db.First(&inv, first.ID).Error)
	require.NotNil(t, inv.CaseID, "the hand-over put the invoice in a case")
	caseID := *inv.CaseID

	// The notice: the fixed 40 EUR of a business and the statutory
	// interest at the administration's 10.15 %, never blank.
	interest := costs.Interest(50000, time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, time.UTC), nil, time.Now().UTC(), 1015)
	notice := mailsTo()[0]
	require.Contains(t, notice, "collection costs of €40.00 and late-payment interest of €"+fmt.Sprintf("%d.%02d", interest/100, interest%100))
	require.NotContains(t, notice, "costs of  and")
	var letters []models.Message
	require.NoError(t, s.db.Where("case_id = ? AND channel = ? AND state = ?", caseID, "post", models.MessageSent).Find(&letters).Error)
	require.Len(t, letters, 1)
	require.Contains(t, letters[0].BodyText, "€40.00")
	sms := s.vonage.Messages()[0]
	require.True(t, strings.HasSuffix(sms.ClientRef, "/notice_of_default/sms"), sms.ClientRef)

	// A second overdue invoice joins the open case: no second notice.
	second := create(fmt.Sprintf("COLL-B-%d", today.UnixNano()))
	require.Eventually(t, func() bool {
		var d domain.CaseDetail
		return s.call("GET", fmt.Sprintf("/api/v1/cases/%d", caseID), nil, &d) == http.StatusOK && len(d.Invoices) == 2
	}, testkit.Patience, 100*time.Millisecond)
	var second2 models.Invoice
	require.NoError(t, s.db.First(&second2, second.ID).Error)
	require.Equal(t, caseID, *second2.CaseID)
	// The second journey has ended in collection; the case sent nothing new.
	run := s.tc.GetWorkflow(t.Context(), second.WorkflowID, "")
	var res workflows.JourneyResult
	require.NoError(t, run.Get(t.Context(), &res))
	require.Equal(t, workflows.OutcomeCollection, res.Outcome)
	require.Len(t, mailsTo(), 1, "one notice per case, not per invoice")
	require.Len(t, s.vonage.Messages(), 1)

	// The API lists the case and reads it.
	var page struct {
		Data []models.CollectionCase `json:"data"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("/api/v1/administrations/%d/cases?customer_id=%d&stage=notice_of_default", s.adm.ID, s.cust.ID), nil, &page))
	require.Len(t, page.Data, 1)
	require.Equal(t, caseID, page.Data[0].ID)
	var d domain.CaseDetail
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("/api/v1/cases/%d", caseID), nil, &d))
	require.Empty(t, d.StateError)
	require.Len(t, d.Stages, 1)
	require.Equal(t, "notice_of_default", d.Stages[0].Stage)
	require.Equal(t, int64(4000), d.Stages[0].CostsMinor)
	require.Equal(t, "last_notice", d.NextStage)
	require.Equal(t, http.StatusBadRequest, s.call("POST", fmt.Sprintf("/api/v1/cases/%d/waive", caseID), map[string]any{"amount_minor": -5}, nil))

	// Both paid: the invoices leave the case, which closes.
	for _, v := range []api.InvoiceView{first, second} {
		require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/invoices/%d/payments", v.ID),
			map[string]any{"amount_minor": 50000, "currency": "EUR"}, nil))
	}
	var closed workflows.CaseResult
	require.NoError(t, s.tc.GetWorkflow(t.Context(), workflows.CaseWorkflowID(s.adm.ID, caseID), "").Get(t.Context(), &closed))
	require.Equal(t, workflows.CaseStageClosed, closed.Stage)
	var cs models.CollectionCase
	require.NoError(t, s.db.First(&cs, caseID).Error)
	require.Equal(t, models.CaseClosed, cs.Stage)
	require.Equal(t, http.StatusConflict, s.call("POST", fmt.Sprintf("/api/v1/cases/%d/waive", caseID), map[string]any{"amount_minor": 500}, nil))
	var tl struct {
		Data []domain.CaseTimelineEntry `json:"data"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("/api/v1/cases/%d/timeline", caseID), nil, &tl))
	kinds := map[string]int{}
	for _, e := range tl.Data {
		kinds[e.Kind]++
	}
	require.Equal(t, 2, kinds[workflows.CaseEventJoined])
	require.Equal(t, 2, kinds[workflows.CaseEventLeft])
	require.Equal(t, 1, kinds[workflows.CaseEventClosed])
	require.Equal(t, 3, kinds["message"], "the notice's email, letter and SMS")

	if *recordHistory {
		// A committed history is never overwritten: the journey's gates
		// change between generations (journey2 is the current one).
		for id, name := range map[string]string{
			first.WorkflowID: "journey2_hand_over_joins_case.json",
			workflows.CaseWorkflowID(s.adm.ID, caseID): "case_two_invoices_paid.json",
		} {
			path := filepath.Join("..", "workflows", "testdata", name)
			if _, err := os.Stat(path); err == nil {
				continue
			}
			writeHistory(t, s.tc, id, path)
		}
	}
}
