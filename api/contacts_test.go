package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/config"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/portal"
)

// TestCustomerContacts drives the contacts API and the administration's
// archive and reply-to addresses through a real router on a real database
// (no Temporal: none of these routes needs it).
func TestCustomerContacts(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		orgA, orgB := models.Organization{Name: "A", InboxRead: models.ReadManually}, models.Organization{Name: "B", InboxRead: models.ReadManually}
		require.NoError(t, gdb.Create(&orgA).Error)
		require.NoError(t, gdb.Create(&orgB).Error)
		adm := models.Administration{OrganizationID: orgA.ID, Name: "A BV", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR",
			Language: "nl", AdministrationSettings: models.DefaultAdministrationSettings()}
		require.NoError(t, gdb.Create(&adm).Error)
		cust := models.Customer{AdministrationID: adm.ID, ExternalRef: "C-1", Name: "Klant", Language: "nl", Email: "klant@example.com",
			Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-contacts"}
		require.NoError(t, gdb.Create(&cust).Error)
		keyA, _, err := auth.Create(ctx, gdb, orgA.ID, "a")
		require.NoError(t, err)
		keyB, _, err := auth.Create(ctx, gdb, orgB.ID, "b")
		require.NoError(t, err)
		cfg := config.Config{MaxBodyBytes: 4096, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
		links := portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}
		srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Portal: links}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: links}))
		t.Cleanup(srv.Close)
		e := &apiEnv{t: t, db: gdb, srv: srv}
		base := fmt.Sprintf("/api/v1/customers/%d/contacts", cust.ID)

		// Create.
		r := e.call("POST", base, keyA, map[string]any{"name": "Anne Compta", "email": " compta@klant.example ", "phone": "+31 20 123 4567",
			"language": "fr", "roles": []string{"billing", "reminders", "billing"}})
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		var anne models.Contact
		r.json(t, &anne)
		require.Equal(t, "compta@klant.example", anne.Email)
		require.Equal(t, models.ContactRoles{policy.RoleBilling, policy.RoleReminders}, anne.Roles)
		require.False(t, anne.CC)
		require.Equal(t, "api", anne.Source)
		r = e.call("POST", base, keyA, map[string]any{"email": "daf@klant.example", "roles": []string{"collection"}, "cc": true})
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		var daf models.Contact
		r.json(t, &daf)

		// Bad input is refused naming the field, and stores nothing.
		before := e.count(&models.Contact{})
		for _, c := range []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"no email", map[string]any{"roles": []string{"billing"}}, 400, "email"},
			{"not an address", map[string]any{"email": "Anne <a@klant.example>", "roles": []string{"billing"}}, 400, "email"},
			{"no roles", map[string]any{"email": "x@klant.example"}, 400, "roles"},
			{"empty roles", map[string]any{"email": "x@klant.example", "roles": []string{}}, 400, "roles"},
			{"unknown role", map[string]any{"email": "x@klant.example", "roles": []string{"boss"}}, 400, "roles"},
			{"unknown language", map[string]any{"email": "x@klant.example", "roles": []string{"billing"}, "language": "es"}, 400, "language"},
			{"control characters", map[string]any{"email": "x@klant.example", "roles": []string{"billing"}, "name": "a\nb"}, 400, "name"},
			{"unknown field", map[string]any{"email": "x@klant.example", "roles": []string{"billing"}, "bcc": true}, 400, "bcc"},
			{"an address the customer's contacts have", map[string]any{"email": "COMPTA@klant.example", "roles": []string{"collection"}}, 409, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := e.call("POST", base, keyA, c.body).problem(t, c.status)
				if c.field != "" {
					require.Equal(t, c.field, p.Field, p.Detail)
				}
			})
		}
		require.Equal(t, before, e.count(&models.Contact{}))

		// Another organization's customer is not found.
		e.call("GET", base, keyB, nil).problem(t, http.StatusNotFound)
		e.call("POST", base, keyB, map[string]any{"email": "x@klant.example", "roles": []string{"billing"}}).problem(t, http.StatusNotFound)
		e.call("DELETE", fmt.Sprintf("%s/%d", base, anne.ID), keyB, nil).problem(t, http.StatusNotFound)

		// Change: a new address clears a bounce.
		require.NoError(t, gdb.Model(&models.Contact{}).Where("id = ?", anne.ID).Update("bounced_email", anne.Email).Error)
		r = e.call("PATCH", fmt.Sprintf("%s/%d", base, anne.ID), keyA, map[string]any{"email": "anne@klant.example", "cc": true})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var changed models.Contact
		r.json(t, &changed)
		require.Equal(t, "anne@klant.example", changed.Email)
		require.Empty(t, changed.BouncedEmail)
		require.True(t, changed.CC)
		require.Equal(t, anne.Roles, changed.Roles, "absent fields stay")
		require.Equal(t, "Anne Compta", changed.Name)
		e.call("PATCH", fmt.Sprintf("%s/%d", base, anne.ID), keyA, map[string]any{"email": "daf@klant.example"}).problem(t, http.StatusConflict)
		e.call("PATCH", fmt.Sprintf("%s/%d", base, anne.ID), keyA, map[string]any{"roles": []string{}}).problem(t, http.StatusBadRequest)
		e.call("PATCH", fmt.Sprintf("%s/%d", base, 999999), keyA, map[string]any{"cc": false}).problem(t, http.StatusNotFound)
		e.call("PATCH", base+"/x", keyA, map[string]any{"cc": false}).problem(t, http.StatusBadRequest)

		// List, oldest first.
		r = e.call("GET", base, keyA, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var list api.ContactList
		r.json(t, &list)
		require.Len(t, list.Data, 2)
		require.Equal(t, []int64{anne.ID, daf.ID}, []int64{list.Data[0].ID, list.Data[1].ID})

		// At most models.MaxContacts.
		for i := len(list.Data); i < models.MaxContacts; i++ {
			r = e.call("POST", base, keyA, map[string]any{"email": fmt.Sprintf("c%d@klant.example", i), "roles": []string{"reminders"}})
			require.Equal(t, http.StatusCreated, r.status, string(r.body))
		}
		p := e.call("POST", base, keyA, map[string]any{"email": "one-more@klant.example", "roles": []string{"reminders"}}).problem(t, http.StatusUnprocessableEntity)
		require.Contains(t, p.Detail, "most allowed")

		// Delete.
		r = e.call("DELETE", fmt.Sprintf("%s/%d", base, daf.ID), keyA, nil)
		require.Equal(t, http.StatusNoContent, r.status, string(r.body))
		e.call("DELETE", fmt.Sprintf("%s/%d", base, daf.ID), keyA, nil).problem(t, http.StatusNotFound)

		// The administration's archive (BCC) and reply-to addresses.
		admPath := fmt.Sprintf("/api/v1/administrations/%d", adm.ID)
		r = e.call("PATCH", admPath+"/settings", keyA, map[string]any{"bcc_email": "archief@a.example", "reply_to_email": "debiteuren@a.example"})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var got models.Administration
		r.json(t, &got)
		require.Equal(t, "archief@a.example", got.BCCEmail)
		require.Equal(t, "debiteuren@a.example", got.ReplyToEmail)
		p = e.call("PATCH", admPath, keyA, map[string]any{"bcc_email": "not an address"}).problem(t, http.StatusBadRequest)
		require.Equal(t, "bcc_email", p.Field)
		r = e.call("PATCH", admPath, keyA, map[string]any{"bcc_email": ""})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.NoError(t, gdb.First(&got, adm.ID).Error)
		require.Empty(t, got.BCCEmail, "an empty address switches the archive copy off")
		require.False(t, strings.Contains(string(r.body), "archief@"))
	})
}
