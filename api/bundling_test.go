package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/workflows"
)

// minimumRows are the stored minimum amounts of adm, by currency.
func (e *apiEnv) minimumRows(t *testing.T, adm int64) map[string]int64 {
	t.Helper()
	var rows []models.MinimumAmount
	require.NoError(t, e.db.Where("administration_id = ?", adm).Find(&rows).Error)
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Currency] = r.AmountMinor
	}
	return out
}

// TestBundlingSettings: bundling, customer_min_gap_days and minimum_amounts
// are served with the administration and changed by the settings PATCH (and
// the administration's create and update); minimum amounts are upserted per
// currency and removed by 0 or null; bad input is refused whole (422 for a
// broken rule, 400 for a wrong JSON type) and another organization's key
// gets 404 and changes nothing.
func TestBundlingSettings(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newTenantEnv(t, gdb)
		adm := testCreateAdministration(t, e)
		path := fmt.Sprintf("/api/v1/administrations/%d", adm.ID)
		settings := path + "/settings"
		get := func(key string) api.AdministrationView {
			t.Helper()
			r := e.call("GET", path, key, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			var v api.AdministrationView
			r.json(t, &v)
			return v
		}

		// The defaults: bundling on, no minimum (an empty object, not null).
		r := e.call("GET", path, e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.Contains(t, string(r.body), `"minimum_amounts":{}`)
		require.Contains(t, string(r.body), `"bundling":"on"`)

		r = e.call("PATCH", settings, e.keyA, map[string]any{
			"bundling": "off", "customer_min_gap_days": 0, "minimum_amounts": map[string]any{"EUR": 2500, "GBP": 1000},
		})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var v api.AdministrationView
		r.json(t, &v)
		require.Equal(t, models.BundlingOff, v.Bundling)
		require.Equal(t, 0, v.CustomerMinGapDays, "0 is written: no gap")
		require.Equal(t, map[string]int64{"EUR": 2500, "GBP": 1000}, v.MinimumAmounts, "the PATCH answers what is stored")
		require.Equal(t, map[string]int64{"EUR": 2500, "GBP": 1000}, e.minimumRows(t, adm.ID))
		require.Equal(t, v, get(e.keyA))

		// Upserted per currency: EUR changes, GBP stays, no second EUR row.
		r = e.call("PATCH", settings, e.keyA, map[string]any{"bundling": "on", "minimum_amounts": map[string]any{"EUR": 3000}})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.Equal(t, map[string]int64{"EUR": 3000, "GBP": 1000}, e.minimumRows(t, adm.ID))
		require.Equal(t, int64(2), e.countWhere(&models.MinimumAmount{}, "administration_id = ?", adm.ID))
		require.Equal(t, models.BundlingOn, get(e.keyA).Bundling)

		// 0 removes one currency's minimum, null another's; a removal of a
		// currency that has none is no error.
		r = e.call("PATCH", settings, e.keyA, `{"minimum_amounts":{"GBP":0,"USD":0}}`)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.Equal(t, map[string]int64{"EUR": 3000}, get(e.keyA).MinimumAmounts)
		r = e.call("PATCH", settings, e.keyA, `{"minimum_amounts":{"EUR":null}}`)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.Empty(t, e.minimumRows(t, adm.ID))
		require.Equal(t, map[string]int64{}, get(e.keyA).MinimumAmounts)

		// The administration's update takes them too.
		r = e.call("PATCH", path, e.keyA, map[string]any{"bundling": "off", "minimum_amounts": map[string]any{"EUR": 500}})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		v = get(e.keyA)
		require.Equal(t, models.BundlingOff, v.Bundling)
		require.Equal(t, map[string]int64{"EUR": 500}, v.MinimumAmounts)

		// Bad input: refused whole, whatever came with it.
		var stored models.Administration
		require.NoError(t, gdb.First(&stored, adm.ID).Error)
		for _, c := range []struct {
			body   string
			status int
			field  string
			detail string
		}{
			{`{"bundling":"maybe"}`, 422, "bundling", `must be "on" or "off"`},
			{`{"bundling":""}`, 422, "bundling", `must be "on" or "off"`},
			{`{"bundling":true}`, 400, "bundling", "expected string"},
			{`{"minimum_amounts":{"eur":100}}`, 422, "minimum_amounts", `"eur" is not an ISO 4217 currency code`},
			{`{"minimum_amounts":{"EURO":100}}`, 422, "minimum_amounts", `"EURO"`},
			{`{"minimum_amounts":{"ABC":100}}`, 422, "minimum_amounts", `"ABC"`},
			{`{"minimum_amounts":{"EUR":-1}}`, 422, "minimum_amounts", "must be 0 or more"},
			{`{"minimum_amounts":{"EUR":"25.00"}}`, 400, "minimum_amounts", "expected int64"},
			{`{"minimum_amounts":{"EUR":25.5}}`, 400, "minimum_amounts", ""},
			{`{"minimum_amounts":[2500]}`, 400, "minimum_amounts", ""},
			{`{"customer_min_gap_days":-1}`, 422, "customer_min_gap_days", "between 0 and 90"},
		} {
			// A valid change of another field and another currency rides along.
			body := strings.Replace(c.body, "{", `{"sender_name":"Half Written",`, 1)
			if !strings.Contains(c.body, "minimum_amounts") {
				body = strings.Replace(body, "{", `{"minimum_amounts":{"USD":700},`, 1)
			} else if strings.Contains(c.body, `"minimum_amounts":{`) {
				body = strings.Replace(body, `"minimum_amounts":{`, `"minimum_amounts":{"USD":700,`, 1)
			}
			for _, p := range []string{settings, path} {
				pr := e.call("PATCH", p, e.keyA, body).problem(t, c.status)
				require.True(t, strings.HasPrefix(pr.Field, c.field), "%s %s: field %q", p, body, pr.Field)
				require.Contains(t, pr.Detail, c.detail, "%s %s", p, body)
			}
			var after models.Administration
			require.NoError(t, gdb.First(&after, adm.ID).Error)
			require.Equal(t, stored, after, "%s: nothing half-written", body)
			require.Equal(t, map[string]int64{"EUR": 500}, e.minimumRows(t, adm.ID), "%s: no minimum half-written", body)
		}

		// Another organization: 404, nothing changed, nothing shown.
		for _, c := range []struct{ method, path string }{{"PATCH", settings}, {"PATCH", path}, {"GET", path}} {
			body := map[string]any{"bundling": "on", "minimum_amounts": map[string]any{"EUR": 1, "GBP": 2}}
			if c.method == "GET" {
				body = nil
			}
			e.call(c.method, c.path, e.keyB, body).problem(t, http.StatusNotFound)
		}
		require.Equal(t, map[string]int64{"EUR": 500}, e.minimumRows(t, adm.ID))
		require.Equal(t, models.BundlingOff, get(e.keyA).Bundling)
		var page api.Page[api.AdministrationView]
		e.call("GET", "/api/v1/administrations", e.keyB, nil).json(t, &page)
		require.Empty(t, page.Data)

		// A new administration may be created with its minimums; the list
		// serves each administration's own.
		r = e.call("POST", "/api/v1/administrations", e.keyA, map[string]any{
			"name": "Noord", "country": "NL", "bundling": "off", "minimum_amounts": map[string]any{"EUR": 1500, "GBP": nil},
		})
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		var created api.AdministrationView
		r.json(t, &created)
		require.Equal(t, models.BundlingOff, created.Bundling)
		require.Equal(t, map[string]int64{"EUR": 1500}, created.MinimumAmounts)
		before := e.count(&models.Administration{})
		e.call("POST", "/api/v1/administrations", e.keyA, map[string]any{
			"name": "Zonder", "country": "NL", "minimum_amounts": map[string]any{"EUR": -5},
		}).problem(t, http.StatusUnprocessableEntity)
		require.Equal(t, before, e.count(&models.Administration{}), "a refused create writes no administration")
		e.call("GET", "/api/v1/administrations", e.keyA, nil).json(t, &page)
		got := map[int64]map[string]int64{}
		for _, a := range page.Data {
			got[a.ID] = a.MinimumAmounts
		}
		require.Equal(t, map[int64]map[string]int64{adm.ID: {"EUR": 500}, created.ID: {"EUR": 1500}}, got)
	})
}

// TestTimelineShowsBundles: the rows a customer's bundle writes (bundle
// requests and the bundle's messages, inserted here as SendBundle writes
// them) show on each invoice's timeline: a step sent in the bundle points to
// the bundle's one message per channel (whose bounce shows too), a waiting
// step names the bundle workflow, a held step its reason, a postponed one
// its date; the bundle message's preview lists the invoices it covered.
// Another organization gets 404 on both.
func TestTimelineShowsBundles(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newTenantEnv(t, gdb)
		adm := testCreateAdministration(t, e)
		cust := testCreateCustomer(t, e, adm)
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		inv := func(n string, dueDays int, open int64) models.Invoice {
			i := models.Invoice{AdministrationID: adm.ID, CustomerID: cust.ID, Number: n, IssueDate: t0.AddDate(0, 0, -30), DueDate: t0.AddDate(0, 0, dueDays),
				Currency: "EUR", AmountMinor: open, OpenMinor: open, Status: models.InvoiceOpen, Stage: "reminded", WorkflowID: "invoice:" + n}
			require.NoError(t, gdb.Create(&i).Error)
			return i
		}
		inv1, inv2, inv3 := inv("B-1", -20, 4000), inv("B-2", -10, 6000), inv("B-3", -5, 500)
		bundleID := workflows.BundleWorkflowID(adm.ID, cust.ID, "EUR")
		key := bundleID + "/run-1/1"

		// The bundle's email (it names no single invoice) was sent and then bounced.
		email := models.Message{Key: key + "/email", AdministrationID: adm.ID, CustomerID: cust.ID, WorkflowID: bundleID,
			Step: 1, Kind: "reminder", Channel: "email", State: models.MessageSent, Recipient: cust.Email,
			Subject: "2 invoices overdue", SentAt: ptr(at(1)), DeliveryStatus: "bounced", DeliveryAt: ptr(at(2))}
		require.NoError(t, gdb.Create(&email).Error)
		held := models.Message{Key: "invoice:B-3/1/held", AdministrationID: adm.ID, CustomerID: cust.ID, InvoiceID: &inv3.ID,
			Step: 1, Kind: "reminder", Channel: "none", State: models.MessageSkipped, Reason: "below_minimum_amount", CreatedAt: at(1)}
		require.NoError(t, gdb.Create(&held).Error)

		answer := func(stepKey string, v map[string]any) string {
			v["step_key"] = stepKey
			b, err := json.Marshal(v)
			require.NoError(t, err)
			return string(b)
		}
		sentResult := map[string]any{"sent": true, "invoice_status": "open", "outcomes": []map[string]any{
			{"channel": "email", "state": "sent", "message_id": email.ID},
			{"channel": "post", "state": "skipped", "reason": "postal_disabled"},
		}}
		req := func(i models.Invoice, pos int, kind string, state models.BundleState, reason, bundleKey, outcomes string, updated time.Time, answered *time.Time) models.BundleRequest {
			r := models.BundleRequest{AdministrationID: adm.ID, CustomerID: cust.ID, Currency: "EUR", InvoiceID: i.ID, WorkflowID: i.WorkflowID,
				StepKey: fmt.Sprintf("%s/%d", i.WorkflowID, pos), Position: pos, OffsetDays: 7 * pos, Kind: kind, Stage: "reminded",
				Anchor: t0, State: state, Reason: reason, BundleKey: bundleKey, Outcomes: outcomes, AnsweredAt: answered,
				CreatedAt: updated, UpdatedAt: updated}
			require.NoError(t, gdb.Create(&r).Error)
			return r
		}
		gap := at(24 * 7)
		sent1 := req(inv1, 1, "reminder", models.BundleSent, "", key, answer(inv1.WorkflowID+"/1", map[string]any{"bundle_key": key, "result": sentResult}), at(0), ptr(at(1)))
		req(inv2, 1, "reminder", models.BundleSent, "", key, answer(inv2.WorkflowID+"/1", map[string]any{"bundle_key": key, "result": sentResult}), at(0), ptr(at(1)))
		req(inv1, 2, "final_reminder", models.BundlePending, "", "", "", at(3), nil)
		req(inv3, 1, "reminder", models.BundleHeld, "below_minimum_amount", "",
			answer(inv3.WorkflowID+"/1", map[string]any{"not_before": at(25), "reason": "below_minimum_amount", "result": map[string]any{"sent": false}}), at(1), ptr(at(1)))
		req(inv2, 2, "sms", models.BundleAnswered, "customer_min_gap", "",
			answer(inv2.WorkflowID+"/2", map[string]any{"not_before": gap, "reason": "customer_min_gap", "result": map[string]any{"sent": false}}), at(4), ptr(at(4)))
		req(inv3, 2, "sms", models.BundleAnswered, "requeued", "",
			answer(inv3.WorkflowID+"/2", map[string]any{"requeue": true, "reason": "requeued", "result": map[string]any{"sent": false}}), at(5), ptr(at(5)))

		timeline := func(i models.Invoice) api.TimelineView {
			t.Helper()
			r := e.call("GET", fmt.Sprintf("/api/v1/invoices/%d/timeline", i.ID), e.keyA, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			var tl api.TimelineView
			r.json(t, &tl)
			return tl
		}
		kinds := func(tl api.TimelineView) []string {
			var out []string
			for _, en := range tl.Entries {
				s := en.Kind
				if en.Bundle != nil {
					s += ":" + en.Bundle.State
				}
				out = append(out, s)
			}
			return out
		}

		// B-1: sent in the bundle (the email, bounced; post skipped without a
		// row), then its final reminder waits in the bundle.
		tl := timeline(inv1)
		require.Equal(t, []string{"bundle:sent", "delivery", "bundle:bundled"}, kinds(tl))
		b := tl.Entries[0].Bundle
		require.Equal(t, at(1), tl.Entries[0].At, "when the bundle's message went out")
		require.Equal(t, sent1.StepKey, b.StepKey)
		require.Equal(t, 1, b.Position)
		require.Equal(t, "reminder", string(b.StepKind))
		require.Equal(t, bundleID, b.WorkflowID)
		require.Equal(t, key, b.BundleKey)
		require.Equal(t, 2, b.Invoices, "the bundle covered B-1 and B-2")
		require.Len(t, b.Messages, 2)
		require.Equal(t, email.ID, b.Messages[0].ID)
		require.Equal(t, "email", b.Messages[0].Channel)
		require.Equal(t, "sent", b.Messages[0].State)
		require.Equal(t, "2 invoices overdue", b.Messages[0].Subject)
		require.Equal(t, "bounced", b.Messages[0].DeliveryStatus)
		require.Equal(t, fmt.Sprintf("/api/v1/messages/%d/preview", email.ID), b.Messages[0].Preview)
		require.Equal(t, api.TimelineMessageView{StepKind: "reminder", Channel: "post", State: "skipped", Reason: "postal_disabled"}, b.Messages[1])
		require.Equal(t, "2 invoices overdue", tl.Entries[0].Detail)
		require.Equal(t, "bounced", tl.Entries[1].Detail)
		require.Equal(t, email.ID, tl.Entries[1].Message.ID, "the bundle email's bounce shows on each invoice it covered")
		w := tl.Entries[2].Bundle
		require.Equal(t, "bundled", w.State)
		require.Equal(t, bundleID, w.WorkflowID, "a waiting step names its bundle workflow")
		require.Equal(t, 2, w.Position)
		require.Empty(t, w.Messages)
		require.Equal(t, at(3), tl.Entries[2].At)

		// B-2: the same message, then its SMS step postponed by the customer's gap.
		tl = timeline(inv2)
		require.Equal(t, []string{"bundle:sent", "delivery", "bundle:postponed"}, kinds(tl))
		require.Equal(t, email.ID, tl.Entries[0].Bundle.Messages[0].ID, "one message for both invoices")
		require.Equal(t, "customer_min_gap", tl.Entries[2].Bundle.Reason)
		require.NotNil(t, tl.Entries[2].Bundle.NotBefore)
		require.True(t, gap.Equal(*tl.Entries[2].Bundle.NotBefore))

		// B-3: held under the minimum amount (with its skipped row), then requeued.
		tl = timeline(inv3)
		// (In the same instant, the message row comes first.)
		require.Equal(t, []string{"message", "bundle:held", "bundle:requeued"}, kinds(tl))
		require.Equal(t, held.ID, tl.Entries[0].Message.ID)
		require.Equal(t, "below_minimum_amount", tl.Entries[0].Message.Reason)
		require.Equal(t, "below_minimum_amount", tl.Entries[1].Bundle.Reason)
		require.Equal(t, "below_minimum_amount", tl.Entries[1].Detail)
		require.Empty(t, tl.Entries[1].Bundle.Messages)
		require.NotNil(t, tl.Entries[1].Bundle.NotBefore, "a held step is asked again a day later")
		require.True(t, at(25).Equal(*tl.Entries[1].Bundle.NotBefore))
		require.Equal(t, "requeued", tl.Entries[2].Bundle.Reason)

		// The bundle message lists the invoices it covered, most overdue first.
		r := e.call("GET", fmt.Sprintf("/api/v1/messages/%d/preview", email.ID), e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var pv api.MessagePreview
		r.json(t, &pv)
		require.NotNil(t, pv.Bundle)
		require.Equal(t, bundleID, pv.Bundle.WorkflowID)
		require.Equal(t, key, pv.Bundle.BundleKey)
		var covered []string
		for _, i := range pv.Bundle.Invoices {
			covered = append(covered, fmt.Sprintf("%s@%d:%d", i.Number, i.Position, i.OpenMinor))
		}
		require.Equal(t, []string{"B-1@1:4000", "B-2@1:6000"}, covered)
		// A message about one invoice covers none.
		r = e.call("GET", fmt.Sprintf("/api/v1/messages/%d/preview", held.ID), e.keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.NotContains(t, string(r.body), `"bundle"`)

		e.call("GET", fmt.Sprintf("/api/v1/invoices/%d/timeline", inv1.ID), e.keyB, nil).problem(t, http.StatusNotFound)
		e.call("GET", fmt.Sprintf("/api/v1/messages/%d/preview", email.ID), e.keyB, nil).problem(t, http.StatusNotFound)
	})
}

func ptr[T any](v T) *T { return &v }
