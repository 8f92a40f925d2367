package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecideChannel(t *testing.T) {
	refused := func(ch Channel, r SkipReason) Decision {
		return Decision{Refusals: []Refusal{{Channel: ch, Reason: r}}, Skipped: true, Reason: r}
	}
	tests := []struct {
		name string
		kind StepKind
		ch   Channel
		adm  func(*AdministrationSettings)
		cust func(*CustomerSettings)
		want Decision
	}{
		{name: "statement by email", kind: StepStatement, ch: ChannelEmail,
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl", EmailTo: []string{"debiteur@example.nl"}}},
		// Post is chosen although email would be allowed: the admin asked for a letter.
		{name: "statement by post although email is possible", kind: StepStatement, ch: ChannelPost,
			want: Decision{Channels: []Channel{ChannelPost}}},
		{name: "statement by SMS", kind: StepStatement, ch: ChannelSMS,
			want: Decision{Channels: []Channel{ChannelSMS}, Mobile: wantMobile}},
		{name: "statement by SMS without a mobile number", kind: StepStatement, ch: ChannelSMS,
			cust: func(c *CustomerSettings) { c.Mobile = "" }, want: refused(ChannelSMS, ReasonMobileMissing)},
		{name: "statement by SMS to a landline", kind: StepStatement, ch: ChannelSMS,
			cust: func(c *CustomerSettings) { c.Mobile = "020 1234567" }, want: refused(ChannelSMS, ReasonNotAMobile)},
		{name: "statement SMS switched off", kind: StepStatement, ch: ChannelSMS,
			adm: func(a *AdministrationSettings) { a.StatementSMSEnabled = false }, want: refused(ChannelSMS, ReasonStatementSMSDisabled)},
		// The global switch explains more than the statement switch.
		{name: "all SMS switched off", kind: StepStatement, ch: ChannelSMS,
			adm:  func(a *AdministrationSettings) { a.SMSEnabled, a.StatementSMSEnabled = false, false },
			want: refused(ChannelSMS, ReasonSMSDisabledForAdministration)},
		{name: "customer refuses SMS", kind: StepStatement, ch: ChannelSMS,
			cust: func(c *CustomerSettings) { c.SendSMS = false }, want: refused(ChannelSMS, ReasonSMSDisabledForCustomer)},
		{name: "collection SMS switched off", kind: StepCollection, ch: ChannelSMS,
			adm: func(a *AdministrationSettings) { a.CollectionSMSEnabled = false }, want: refused(ChannelSMS, ReasonCollectionSMSDisabled)},
		{name: "statement by email without an address", kind: StepStatement, ch: ChannelEmail,
			cust: func(c *CustomerSettings) { c.Email = "" }, want: refused(ChannelEmail, ReasonEmailMissing)},
		{name: "statement by email with reminders by email off", kind: StepStatement, ch: ChannelEmail,
			cust: func(c *CustomerSettings) { c.SendRemindersByEmail = false }, want: refused(ChannelEmail, ReasonEmailDisabledForCustomer)},
		{name: "statement by post, customer says never", kind: StepStatement, ch: ChannelPost,
			cust: func(c *CustomerSettings) { c.SendByPost = false }, want: refused(ChannelPost, ReasonPostDisabledForCustomer)},
		{name: "statement by post, post off for the administration", kind: StepStatement, ch: ChannelPost,
			adm: func(a *AdministrationSettings) { a.PostalEnabled = false }, want: refused(ChannelPost, ReasonPostDisabledForAdministration)},
		{name: "statement by post without an address", kind: StepStatement, ch: ChannelPost,
			cust: func(c *CustomerSettings) { c.HasPostalAddress = false }, want: refused(ChannelPost, ReasonNoPostalAddress)},
		{name: "unknown channel", kind: StepStatement, ch: "fax", want: Decision{Skipped: true, Reason: ReasonNoChannel}},
		{name: "unknown kind", kind: "letterbomb", ch: ChannelEmail, want: Decision{Skipped: true, Reason: ReasonUnknownStepKind}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adm, cust := allOnAdm(), reachableCust()
			if tt.adm != nil {
				tt.adm(&adm)
			}
			if tt.cust != nil {
				tt.cust(&cust)
			}
			require.Equal(t, tt.want, DecideChannel(tt.kind, tt.ch, adm, cust))
		})
	}
}
