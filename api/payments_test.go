package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// journeyOutcome waits for a journey to end and returns how it ended.
func (e *apiEnv) journeyOutcome(t *testing.T, workflowID string) workflows.JourneyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Patience)
	defer cancel()
	var res workflows.JourneyResult
	require.NoError(t, e.tc.GetWorkflow(ctx, workflowID, "").Get(ctx, &res))
	return res
}

func (e *apiEnv) dbInvoice(t *testing.T, id int64) models.Invoice {
	t.Helper()
	var inv models.Invoice
	require.NoError(t, e.db.First(&inv, id).Error)
	return inv
}

func (e *apiEnv) paymentCount(t *testing.T, invoiceID int64) int64 {
	t.Helper()
	var n int64
	require.NoError(t, e.db.Model(&models.Payment{}).Where("invoice_id = ?", invoiceID).Count(&n).Error)
	return n
}

func testPayments(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	cust := e.newCustomer(t, adm, "PAY-1", "Betaal BV", "betaal@example.com")
	inv := e.newInvoice(t, adm, cust, time.Now().UTC().AddDate(0, 0, 30), 12345)
	path := fmt.Sprintf("/api/v1/invoices/%d/payments", inv.ID)

	// Partial payment: the open amount drops in the database and in the journey.
	r := e.call("POST", path, e.keyA, map[string]any{"amount_minor": 2345, "currency": "eur", "paid_at": "2026-01-15", "reference": "BANK-1"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var pv api.PaymentView
	r.json(t, &pv)
	require.Positive(t, pv.Payment.ID)
	require.EqualValues(t, 2345, pv.Payment.AmountMinor)
	require.Equal(t, "EUR", pv.Payment.Currency)
	require.Equal(t, "2026-01-15", pv.Payment.PaidAt.UTC().Format("2006-01-02"))
	require.EqualValues(t, 10000, pv.Invoice.OpenMinor)
	require.Equal(t, models.InvoiceOpen, pv.Invoice.Status)
	require.Empty(t, pv.Invoice.JourneyError)
	got := e.dbInvoice(t, inv.ID)
	require.EqualValues(t, 10000, got.OpenMinor)
	require.EqualValues(t, 12345, got.AmountMinor)
	st := e.journeyState(t, inv.WorkflowID, func(st workflows.JourneyState) bool { return st.OpenMinor == 10000 })
	require.Equal(t, workflows.StatusOpen, st.Status)

	// Rule violations and bad input write nothing.
	for _, c := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"overpayment", map[string]any{"amount_minor": 10001, "currency": "EUR"}, 422, "amount_minor"},
		{"wrong currency", map[string]any{"amount_minor": 100, "currency": "USD"}, 422, "currency"},
		{"zero", map[string]any{"amount_minor": 0, "currency": "EUR"}, 422, "amount_minor"},
		{"negative", map[string]any{"amount_minor": -100, "currency": "EUR"}, 422, "amount_minor"},
		{"paid in the future", map[string]any{"amount_minor": 100, "currency": "EUR", "paid_at": "2999-01-01"}, 422, "paid_at"},
		{"no amount", map[string]any{"currency": "EUR"}, 400, "amount_minor"},
		{"no currency", map[string]any{"amount_minor": 100}, 400, "currency"},
		{"unknown currency", map[string]any{"amount_minor": 100, "currency": "XYZ"}, 400, "currency"},
		{"bad date", map[string]any{"amount_minor": 100, "currency": "EUR", "paid_at": "15/01/2026"}, 400, "paid_at"},
		{"amount not an integer", map[string]any{"amount_minor": 1.5, "currency": "EUR"}, 400, "amount_minor"},
		{"unknown field", map[string]any{"amount": 100, "currency": "EUR"}, 400, "amount"},
		{"reference already registered", map[string]any{"amount_minor": 100, "currency": "EUR", "reference": "BANK-1"}, 409, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.call("POST", path, e.keyA, c.body).problem(t, c.status)
			require.Equal(t, c.field, p.Field, p.Detail)
		})
	}
	require.EqualValues(t, 1, e.paymentCount(t, inv.ID))
	require.EqualValues(t, 10000, e.dbInvoice(t, inv.ID).OpenMinor)

	// Another tenant's invoice is not found; a wrong key is refused.
	e.call("POST", path, e.keyB, map[string]any{"amount_minor": 100, "currency": "EUR"}).problem(t, http.StatusNotFound)
	e.call("GET", path, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("POST", path, "rl_000000000000_deadbeef", map[string]any{"amount_minor": 100, "currency": "EUR"}).problem(t, http.StatusUnauthorized)
	e.call("POST", "/api/v1/invoices/999999999/payments", e.keyA, map[string]any{"amount_minor": 100, "currency": "EUR"}).problem(t, http.StatusNotFound)
	require.EqualValues(t, 1, e.paymentCount(t, inv.ID))

	// The rest: the invoice is paid and its journey ends paid.
	r = e.call("POST", path, e.keyA, map[string]any{"amount_minor": 10000, "currency": "EUR"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	r.json(t, &pv)
	require.Equal(t, models.InvoicePaid, pv.Invoice.Status)
	require.Zero(t, pv.Invoice.OpenMinor)
	got = e.dbInvoice(t, inv.ID)
	require.Equal(t, models.InvoicePaid, got.Status)
	require.Zero(t, got.OpenMinor)
	res := e.journeyOutcome(t, inv.WorkflowID)
	require.Equal(t, workflows.OutcomePaid, res.Outcome)
	require.Equal(t, workflows.StagePaid, res.Stage)

	// Paying a paid invoice is a conflict.
	e.call("POST", path, e.keyA, map[string]any{"amount_minor": 1, "currency": "EUR"}).problem(t, http.StatusConflict)
	require.EqualValues(t, 2, e.paymentCount(t, inv.ID))

	r = e.call("GET", path, e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var page api.Page[models.Payment]
	r.json(t, &page)
	require.Len(t, page.Data, 2)
	require.EqualValues(t, 2345, page.Data[0].AmountMinor)
	require.EqualValues(t, 10000, page.Data[1].AmountMinor)
}

func testCredit(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	cust := e.newCustomer(t, adm, "CR-1", "Credit BV", "credit@example.com")
	inv := e.newInvoice(t, adm, cust, time.Now().UTC().AddDate(0, 0, 30), 5000)
	path := fmt.Sprintf("/api/v1/invoices/%d/credit", inv.ID)

	p := e.call("POST", path, e.keyA, map[string]any{}).problem(t, http.StatusBadRequest)
	require.Equal(t, "reason", p.Field)
	e.call("POST", path, e.keyB, map[string]any{"reason": "x"}).problem(t, http.StatusNotFound)
	require.Equal(t, models.InvoiceOpen, e.dbInvoice(t, inv.ID).Status)

	r := e.call("POST", path, e.keyA, map[string]any{"reason": "credit note CN-7"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.InvoiceView
	r.json(t, &v)
	require.Equal(t, models.InvoiceCredited, v.Status)
	got := e.dbInvoice(t, inv.ID)
	require.Equal(t, models.InvoiceCredited, got.Status)
	require.Zero(t, got.OpenMinor)
	require.EqualValues(t, 5000, got.AmountMinor)
	res := e.journeyOutcome(t, inv.WorkflowID)
	require.Equal(t, workflows.OutcomeCredited, res.Outcome)

	e.call("POST", path, e.keyA, map[string]any{"reason": "again"}).problem(t, http.StatusConflict)
	e.call("POST", fmt.Sprintf("/api/v1/invoices/%d/payments", inv.ID), e.keyA, map[string]any{"amount_minor": 1, "currency": "EUR"}).problem(t, http.StatusConflict)
	e.call("POST", fmt.Sprintf("/api/v1/invoices/%d/dispute", inv.ID), e.keyA, map[string]any{"reason": "late"}).problem(t, http.StatusConflict)
}

func testDispute(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	cust := e.newCustomer(t, adm, "DS-1", "Dispuut BV", "dispuut@example.com")
	inv := e.newInvoice(t, adm, cust, time.Now().UTC().AddDate(0, 0, 30), 7000)
	base := fmt.Sprintf("/api/v1/invoices/%d", inv.ID)

	e.call("POST", base+"/dispute-resolved", e.keyA, nil).problem(t, http.StatusConflict)
	p := e.call("POST", base+"/dispute", e.keyA, map[string]any{"reason": ""}).problem(t, http.StatusBadRequest)
	require.Equal(t, "reason", p.Field)
	e.call("POST", base+"/dispute", e.keyB, map[string]any{"reason": "x"}).problem(t, http.StatusNotFound)
	require.False(t, e.dbInvoice(t, inv.ID).Disputed)

	r := e.call("POST", base+"/dispute", e.keyA, map[string]any{"reason": "goods damaged"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var v api.InvoiceView
	r.json(t, &v)
	require.True(t, v.Disputed)
	require.True(t, e.dbInvoice(t, inv.ID).Disputed)
	st := e.journeyState(t, inv.WorkflowID, func(st workflows.JourneyState) bool { return st.Disputed })
	require.Equal(t, "goods damaged", st.DisputeReason)
	e.call("POST", base+"/dispute", e.keyA, map[string]any{"reason": "again"}).problem(t, http.StatusConflict)

	// The list shows it among the disputed invoices.
	r = e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/invoices?disputed=true", adm.ID), e.keyA, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var page api.Page[api.InvoiceView]
	r.json(t, &page)
	require.Len(t, page.Data, 1)
	require.Equal(t, inv.ID, page.Data[0].ID)

	r = e.call("POST", base+"/dispute-resolved", e.keyA, map[string]any{"reason": "replaced"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.False(t, e.dbInvoice(t, inv.ID).Disputed)
	e.journeyState(t, inv.WorkflowID, func(st workflows.JourneyState) bool { return !st.Disputed && !st.Paused })
	e.call("POST", base+"/dispute-resolved", e.keyA, nil).problem(t, http.StatusConflict)
}

// invoiceNumbers lists a page of invoices by number, sorted.
func (e *apiEnv) invoiceNumbers(t *testing.T, adm models.Administration, query string) []string {
	t.Helper()
	return pageKeys(t, e, fmt.Sprintf("/api/v1/administrations/%d/invoices?%s", adm.ID, query),
		func(v api.InvoiceView) string { return v.Number })
}

func testInvoiceList(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	c1 := e.newCustomer(t, adm, "IL-1", "Een", "")
	c2 := e.newCustomer(t, adm, "IL-2", "Twee", "")
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	mk := func(number string, cust models.Customer, due time.Time, open int64, status models.InvoiceStatus, stage string) models.Invoice {
		inv := models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: number, IssueDate: due.AddDate(0, 0, -30), DueDate: due,
			Currency: "EUR", AmountMinor: 1000, OpenMinor: open, Status: status, Stage: stage}
		require.NoError(t, e.db.Create(&inv).Error)
		return inv
	}
	mk("A-due-future", c1, today.AddDate(0, 0, 10), 1000, models.InvoiceOpen, "scheduled")
	mk("B-due-today", c1, today, 1000, models.InvoiceOpen, "invoiced")
	late := mk("C-overdue", c2, today.AddDate(0, 0, -1), 1000, models.InvoiceOpen, "reminded")
	mk("D-paid", c2, today.AddDate(0, 0, -40), 0, models.InvoicePaid, "paid")
	mk("E-credited", c1, today.AddDate(0, 0, -40), 0, models.InvoiceCredited, "credited")
	held := mk("F-paused", c2, today.AddDate(0, 0, 5), 1000, models.InvoiceOpen, "scheduled")
	require.NoError(t, e.db.Model(&held).Updates(map[string]any{"paused_at": now, "pause_reason": "wait"}).Error)
	require.NoError(t, e.db.Model(&late).Updates(map[string]any{"paused_at": now.Add(-48 * time.Hour), "paused_until": now.Add(-time.Hour), "pause_reason": "was"}).Error)

	all := []string{"A-due-future", "B-due-today", "C-overdue", "D-paid", "E-credited", "F-paused"}
	require.Equal(t, all, e.invoiceNumbers(t, adm, ""))
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"status=open", []string{"A-due-future", "B-due-today", "C-overdue", "F-paused"}},
		{"status=paid", []string{"D-paid"}},
		{"status=credited", []string{"E-credited"}},
		{"stage=reminded", []string{"C-overdue"}},
		{"overdue=true", []string{"C-overdue"}},
		{"overdue=false", []string{"A-due-future", "B-due-today", "D-paid", "E-credited", "F-paused"}},
		{fmt.Sprintf("customer_id=%d", c2.ID), []string{"C-overdue", "D-paid", "F-paused"}},
		{"paused=true", []string{"F-paused"}},
		{fmt.Sprintf("paused=false&customer_id=%d", c2.ID), []string{"C-overdue", "D-paid"}},
		{"status=open&overdue=false&paused=false", []string{"A-due-future", "B-due-today"}},
		{"disputed=true", []string{}},
	} {
		require.Equal(t, c.want, e.invoiceNumbers(t, adm, c.query), c.query)
	}
	r := e.call("GET", fmt.Sprintf("/api/v1/administrations/%d/invoices?paused=true", adm.ID), e.keyA, nil)
	var page api.Page[api.InvoiceView]
	r.json(t, &page)
	require.Len(t, page.Data, 1)
	require.True(t, page.Data[0].Paused)
	require.Nil(t, page.Data[0].Journey, "lists do not query journeys")

	base := fmt.Sprintf("/api/v1/administrations/%d/invoices", adm.ID)
	for _, bad := range []struct{ query, field string }{
		{"status=late", "status"}, {"stage=done", "stage"}, {"customer_id=abc", "customer_id"}, {"overdue=yes", "overdue"}, {"paused=1x", "paused"},
	} {
		p := e.call("GET", base+"?"+bad.query, e.keyA, nil).problem(t, http.StatusBadRequest)
		require.Equal(t, bad.field, p.Field, bad.query)
	}
	e.call("GET", base, e.keyB, nil).problem(t, http.StatusNotFound)
	e.call("GET", base, "", nil).problem(t, http.StatusUnauthorized)
}

// testConcurrentPayments: payments racing for the same open amount never
// take more than it; exactly the ones that fit are registered.
func testConcurrentPayments(t *testing.T, e *apiEnv) {
	adm := e.newAdministration(t)
	cust := e.newCustomer(t, adm, "PAR-1", "Race BV", "race@example.com")
	inv := e.newInvoice(t, adm, cust, time.Now().UTC().AddDate(0, 0, 30), 5000)
	path := fmt.Sprintf("/api/v1/invoices/%d/payments", inv.ID)
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = e.call("POST", path, e.keyA, map[string]any{"amount_minor": 1000, "currency": "EUR"}).status
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	require.Equal(t, 5, count[http.StatusCreated], "statuses %v", statuses)
	require.Equal(t, 3, count[http.StatusConflict]+count[http.StatusUnprocessableEntity], "statuses %v", statuses)
	require.EqualValues(t, 5, e.paymentCount(t, inv.ID))
	got := e.dbInvoice(t, inv.ID)
	require.Zero(t, got.OpenMinor)
	require.Equal(t, models.InvoicePaid, got.Status)
	require.EqualValues(t, 5, got.Revision, "one revision per accepted payment, in commit order")
	// Their signals may arrive in any order; the journey still ends paid.
	require.Equal(t, workflows.OutcomePaid, e.journeyOutcome(t, inv.WorkflowID).Outcome)
}
