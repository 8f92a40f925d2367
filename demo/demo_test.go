package demo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
)

// TestSeed seeds the demo into an empty database with a real Temporal dev
// server: the administration with its archive address, the customers, one
// of them with contact persons, and the invoices; a second call creates
// nothing.
func TestSeed(t *testing.T) {
	gdb := testkit.SQLite(t)
	_, tc := testkit.DevServer(t)
	orgID, created, err := Seed(context.Background(), gdb, tc, time.Now())
	require.NoError(t, err)
	require.True(t, created)
	require.Positive(t, orgID)

	var adm models.Administration
	require.NoError(t, gdb.First(&adm, "organization_id = ?", orgID).Error)
	require.Equal(t, "archief@demo-wholesale.example", adm.BCCEmail)
	var contacts []models.Contact
	require.NoError(t, gdb.Order("id").Find(&contacts).Error)
	require.Len(t, contacts, 2)
	var smith models.Customer
	require.NoError(t, gdb.First(&smith, contacts[0].CustomerID).Error)
	require.Equal(t, "C-1004", smith.ExternalRef)
	d := policy.Decide(policy.StepReminder, adm.ChannelSettings(), smith.ChannelSettings(models.PolicyContacts(contacts)...))
	require.Equal(t, []string{"jane.smith@smith-sons.example"}, d.EmailTo)
	require.Equal(t, []string{"finance.director@smith-sons.example"}, d.EmailCc)
	var n int64
	require.NoError(t, gdb.Model(&models.Invoice{}).Count(&n).Error)
	require.EqualValues(t, 7, n)

	_, created, err = Seed(context.Background(), gdb, tc, time.Now())
	require.NoError(t, err)
	require.False(t, created)
	require.NoError(t, gdb.Model(&models.Contact{}).Count(&n).Error)
	require.EqualValues(t, 2, n)
}
