package db

import (
	"reflect"

	"gorm.io/gorm"

	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

// registerPortalCodes gives every customer inserted without one its short
// portal code (portal.NewCode), whichever path inserts it (API, import,
// demo, a batch). A create callback rather than a model hook keeps GORM
// out of the models' importers (the API must not depend on it).
func registerPortalCodes(gdb *gorm.DB) error {
	return gdb.Callback().Create().Before("gorm:create").Register("relance:portal_code", func(tx *gorm.DB) {
		if tx.Statement.Schema == nil || tx.Statement.Schema.Table != "customers" {
			return
		}
		set := func(v reflect.Value) {
			if !v.CanAddr() {
				return
			}
			if c, ok := v.Addr().Interface().(*models.Customer); ok && c.PortalCode == nil {
				code := portal.NewCode()
				c.PortalCode = &code
			}
		}
		rv := tx.Statement.ReflectValue
		switch rv.Kind() {
		case reflect.Slice, reflect.Array:
			for i := 0; i < rv.Len(); i++ {
				set(reflect.Indirect(rv.Index(i)))
			}
		case reflect.Struct:
			set(rv)
		}
	})
}
