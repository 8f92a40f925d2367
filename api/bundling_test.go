package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
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
