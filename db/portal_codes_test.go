package db_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

// TestCustomersGetPortalCodes: every insert path gives a new customer its
// own short code; a code given is kept.
func TestCustomersGetPortalCodes(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		org := models.Organization{Name: "O", InboxRead: models.ReadManually}
		require.NoError(t, gdb.Create(&org).Error)
		adm := models.Administration{OrganizationID: org.ID, Name: "A", Country: "NL", TimeZone: "Europe/Amsterdam", Currency: "EUR", Language: "nl"}
		require.NoError(t, gdb.Create(&adm).Error)
		one := models.Customer{AdministrationID: adm.ID, ExternalRef: "1", Name: "One", PortalToken: "t1"}
		require.NoError(t, gdb.Create(&one).Error)
		batch := []models.Customer{
			{AdministrationID: adm.ID, ExternalRef: "2", Name: "Two", PortalToken: "t2"},
			{AdministrationID: adm.ID, ExternalRef: "3", Name: "Three", PortalToken: "t3"},
		}
		require.NoError(t, gdb.Create(&batch).Error)
		ptrs := []*models.Customer{{AdministrationID: adm.ID, ExternalRef: "4", Name: "Four", PortalToken: "t4"}}
		require.NoError(t, gdb.CreateInBatches(ptrs, 10).Error)
		given := "K7QM4XTA"
		kept := models.Customer{AdministrationID: adm.ID, ExternalRef: "5", Name: "Five", PortalToken: "t5", PortalCode: &given}
		require.NoError(t, gdb.Create(&kept).Error)

		var all []models.Customer
		require.NoError(t, gdb.Order("external_ref").Find(&all).Error)
		seen := map[string]bool{}
		for _, c := range all {
			require.NotNil(t, c.PortalCode, c.Name)
			_, ok := portal.NormalizeCode(*c.PortalCode)
			require.True(t, ok, *c.PortalCode)
			seen[*c.PortalCode] = true
		}
		require.Len(t, seen, 5)
		require.Equal(t, given, *all[4].PortalCode)
		require.Equal(t, "K7QM-4XTA", all[4].PortalCodeText())
	})
}
