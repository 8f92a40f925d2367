package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

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

	// A dispute stops the case's stages (it stays disputed until the
	// payments close it, so no stage can go out meanwhile).
	require.Equal(t, http.StatusConflict, s.call("POST", fmt.Sprintf("/api/v1/cases/%d/dispute-resolved", caseID), nil, nil), "nothing to resolve")
	var disputed models.CollectionCase
	require.Equal(t, http.StatusOK, s.call("POST", fmt.Sprintf("/api/v1/cases/%d/dispute", caseID), map[string]any{"reason": "goods not received"}, &disputed))
	require.True(t, disputed.Disputed)
	require.Equal(t, http.StatusConflict, s.call("POST", fmt.Sprintf("/api/v1/cases/%d/dispute", caseID), map[string]any{"reason": "again"}, nil))
	require.Eventually(t, func() bool {
		return s.visible(fmt.Sprintf("%s = true", workflows.AttrPaused.GetName()), workflows.CaseWorkflowID(s.adm.ID, caseID))
	}, testkit.Patience, 200*time.Millisecond, "the disputed case is found paused in the Temporal UI")

	// The case file for an agency: CSV and PDF.
	status, body, hdr := s.raw("GET", fmt.Sprintf("/api/v1/cases/%d/file.csv", caseID), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	require.Contains(t, hdr.Get("Content-Type"), "text/csv")
	require.Contains(t, hdr.Get("Content-Disposition"), fmt.Sprintf("case-%d.csv", caseID))
	csvText := string(body)
	require.True(t, strings.HasPrefix(csvText, "case_id,as_of,creditor,customer_reference"), csvText)
	require.Contains(t, csvText, first.Number)
	require.Contains(t, csvText, second.Number)
	require.Contains(t, csvText, ",500.00,500.00,1000.00,", "each invoice's amount and open amount, and the case's principal")
	require.Contains(t, csvText, ",80.00,", "the fixed 40 EUR per invoice of a business")
	status, body, hdr = s.raw("GET", fmt.Sprintf("/api/v1/cases/%d/file?format=pdf", caseID), nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "application/pdf", hdr.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(body), "%PDF-"))
	status, _, _ = s.raw("GET", fmt.Sprintf("/api/v1/cases/%d/file?format=xml", caseID), nil)
	require.Equal(t, http.StatusBadRequest, status)

	// The open-items statement on demand: by email it goes; by SMS it is
	// refused while the administration does not send statements by SMS,
	// and for a customer without a mobile number, each with its reason.
	var req domain.StatementRequested
	require.Equal(t, http.StatusAccepted, s.call("POST", fmt.Sprintf("/api/v1/customers/%d/statement", s.cust.ID), map[string]any{"channel": "email"}, &req))
	require.Equal(t, []string{"email"}, req.Channels)
	require.Equal(t, 2, req.OpenItems)
	require.Eventually(t, func() bool {
		for _, m := range s.mail.Messages() {
			if strings.Contains(m.To, s.cust.Email) && strings.Contains(m.Subject, "statement") {
				return strings.Contains(m.Text, first.Number) && strings.Contains(m.Text, second.Number)
			}
		}
		return false
	}, testkit.Patience, 100*time.Millisecond, "the statement lists both open invoices")
	status, body, _ = s.raw("POST", fmt.Sprintf("/api/v1/customers/%d/statement", s.cust.ID), map[string]any{"channel": "sms"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(body), "statement_sms_disabled")
	require.Equal(t, http.StatusOK, s.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d/settings", s.adm.ID), map[string]any{
		"statement_sms_enabled": true, "statement_schedule": "monthly", "statement_day": 1}, nil))
	desc, err := s.tc.ScheduleClient().GetHandle(t.Context(), workflows.StatementScheduleID(s.adm.ID)).Describe(t.Context())
	require.NoError(t, err, "the administration's statement Schedule exists")
	require.Equal(t, 1, desc.Schedule.Spec.Calendars[0].DayOfMonth[0].Start)
	require.Equal(t, http.StatusOK, s.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d", s.adm.ID), map[string]any{"time_zone": "Europe/Brussels"}, nil))
	desc, err = s.tc.ScheduleClient().GetHandle(t.Context(), workflows.StatementScheduleID(s.adm.ID)).Describe(t.Context())
	require.NoError(t, err)
	require.Equal(t, "Europe/Brussels", desc.Schedule.Spec.TimeZoneName, "the Schedule follows the administration's time zone")
	status, body, _ = s.raw("PATCH", fmt.Sprintf("/api/v1/administrations/%d/settings", s.adm.ID), map[string]any{"statement_schedule": "monthly", "statement_day": 31})
	require.Equal(t, http.StatusUnprocessableEntity, status, string(body))
	noMobile := models.Customer{AdministrationID: s.adm.ID, ExternalRef: "E2E-NOMOBILE", Name: "No Mobile", Language: "en", Email: "nomobile@customer.example",
		Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-nomobile"}
	require.NoError(t, s.db.Create(&noMobile).Error)
	require.NoError(t, s.db.Create(&models.Invoice{AdministrationID: s.adm.ID, CustomerID: noMobile.ID, Number: fmt.Sprintf("NM-%d", today.UnixNano()),
		IssueDate: today, DueDate: today, Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000, Status: models.InvoiceOpen, Stage: "scheduled"}).Error)
	status, body, _ = s.raw("POST", fmt.Sprintf("/api/v1/customers/%d/statement", noMobile.ID), map[string]any{"channel": "sms"})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(body), "mobile_missing")
	status, body, _ = s.raw("POST", fmt.Sprintf("/api/v1/customers/%d/statement", noMobile.ID), map[string]any{"channel": "fax"})
	require.Equal(t, http.StatusBadRequest, status, string(body))
	nothingOpen := models.Customer{AdministrationID: s.adm.ID, ExternalRef: "E2E-NOTHING", Name: "Nothing Open", Language: "en", Email: "nothing@customer.example",
		Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-nothing"}
	require.NoError(t, s.db.Create(&nothingOpen).Error)
	status, body, _ = s.raw("POST", fmt.Sprintf("/api/v1/customers/%d/statement", nothingOpen.ID), nil)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(body), "no open items")
	require.Equal(t, http.StatusAccepted, s.call("POST", fmt.Sprintf("/api/v1/customers/%d/statement", s.cust.ID), map[string]any{"channel": "sms"}, &req))
	require.Eventually(t, func() bool { return len(s.vonage.Messages()) == 2 }, testkit.Patience, 100*time.Millisecond)
	require.Contains(t, s.vonage.Messages()[1].Text, "http", "the short statement carries the portal link")
	// The Schedule's run, triggered twice as ops would from the UI: the
	// first sends one statement per customer with open items, the second
	// (same period) nothing.
	trigger := func(n int) workflows.StatementRunResult {
		h := s.tc.ScheduleClient().GetHandle(t.Context(), workflows.StatementScheduleID(s.adm.ID))
		require.NoError(t, h.Trigger(t.Context(), client.ScheduleTriggerOptions{}))
		var id string
		require.Eventually(t, func() bool {
			d, err := h.Describe(t.Context())
			if err != nil || len(d.Info.RecentActions) < n {
				return false
			}
			id = d.Info.RecentActions[n-1].StartWorkflowResult.WorkflowID
			return true
		}, testkit.Patience, 100*time.Millisecond)
		var res workflows.StatementRunResult
		require.NoError(t, s.tc.GetWorkflow(t.Context(), id, "").Get(t.Context(), &res))
		return res
	}
	var withItems int64
	require.NoError(t, s.db.Model(&models.Customer{}).Where("administration_id = ? AND EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = customers.id AND i.status = ? AND i.open_minor > 0)",
		s.adm.ID, models.InvoiceOpen).Count(&withItems).Error)
	mailsBefore, smsBefore := len(s.mail.Messages()), len(s.vonage.Messages())
	run1 := trigger(1)
	require.Equal(t, int(withItems), run1.Customers)
	require.Equal(t, int(withItems), run1.Sent)
	var scheduled int64
	require.NoError(t, s.db.Model(&models.Message{}).Where("key LIKE ? AND channel = ? AND state = ?", "statement:%:"+run1.Period+"/email", "email", models.MessageSent).Count(&scheduled).Error)
	require.Equal(t, withItems, scheduled, "one statement email per customer with open items")
	require.Len(t, s.mail.Messages(), mailsBefore+int(withItems))
	require.Len(t, s.vonage.Messages(), smsBefore+1, "statements by SMS are on: the customer with a mobile number")
	run2 := trigger(2)
	require.Equal(t, run1.Period, run2.Period)
	require.Len(t, s.mail.Messages(), mailsBefore+int(withItems), "the same period again sends nothing")
	require.Len(t, s.vonage.Messages(), smsBefore+1)
	require.Equal(t, http.StatusOK, s.call("PATCH", fmt.Sprintf("/api/v1/administrations/%d/settings", s.adm.ID), map[string]any{"statement_schedule": "off"}, nil))
	_, err = s.tc.ScheduleClient().GetHandle(t.Context(), workflows.StatementScheduleID(s.adm.ID)).Describe(t.Context())
	require.Error(t, err, "off deletes the Schedule")

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

// raw calls the API and returns the status, the body and the headers,
// whatever the status (s.call decodes successes only).
func (s *stack) raw(method, path string, body any) (int, []byte, http.Header) {
	s.t.Helper()
	return s.rawWith(method, path, body, nil)
}

// rawWith is raw with extra request headers (an Idempotency-Key).
func (s *stack) rawWith(method, path string, body any, header http.Header) (int, []byte, http.Header) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.api.URL+path, r)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return res.StatusCode, b, res.Header
}
