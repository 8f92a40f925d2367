package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// TestCreateInvoiceWhileTemporalIsDown: creating an invoice while Temporal
// is down answers 503 with Retry-After and writes nothing; the same request
// succeeds later (imports instead store their rows, see the reconciler).
func TestCreateInvoiceWhileTemporalIsDown(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
		require.NoError(t, err)
		t.Cleanup(dead.Close)
		e := newAPIEnv(t, gdb, dead)
		r := e.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", e.admA.ID), e.keyA, e.invoiceBody("DOWN-1"))
		r.problem(t, http.StatusServiceUnavailable)
		require.NotEmpty(t, r.header.Get("Retry-After"))
		var n int64
		require.NoError(t, gdb.Model(&models.Invoice{}).Where("administration_id = ?", e.admA.ID).Count(&n).Error)
		require.Zero(t, n, "nothing written")
	})
}
