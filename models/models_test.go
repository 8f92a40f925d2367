package models

import (
	"reflect"
	"testing"
)

func TestConversationAbout(t *testing.T) {
	inv, cs := int64(7), int64(9)
	for _, tc := range []struct {
		name         string
		invoice, cse *int64
		clause       string
		args         []any
	}{
		{"the account", nil, nil, "invoice_id IS NULL AND case_id IS NULL", []any{}},
		{"an invoice", &inv, nil, "invoice_id = ? AND case_id IS NULL", []any{int64(7)}},
		{"a case", nil, &cs, "invoice_id IS NULL AND case_id = ?", []any{int64(9)}},
		{"both", &inv, &cs, "invoice_id = ? AND case_id = ?", []any{int64(7), int64(9)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clause, args := ConversationAbout(tc.invoice, tc.cse)
			if clause != tc.clause || !reflect.DeepEqual(args, tc.args) {
				t.Fatalf("got %q %v, want %q %v", clause, args, tc.clause, tc.args)
			}
		})
	}
}
