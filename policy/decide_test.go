package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// allOnAdm is an administration with every switch on, as the product ships
// except UseProvidedEmail (default off).
func allOnAdm() AdministrationSettings {
	return AdministrationSettings{
		PostalEnabled:        true,
		FinalReminderByPost:  true,
		SMSEnabled:           true,
		CollectionSMSEnabled: true,
		StatementSMSEnabled:  true,
	}
}

// reachableCust is a Dutch customer reachable on every channel.
func reachableCust() CustomerSettings {
	return CustomerSettings{
		Email:                "debiteur@example.nl",
		SendInvoicesByEmail:  true,
		SendRemindersByEmail: true,
		SendByPost:           true,
		SendSMS:              true,
		HasPostalAddress:     true,
		Mobile:               "06 12345678",
		Country:              "NL",
	}
}

const wantMobile = "+31612345678"

func TestDecide(t *testing.T) {
	type mods struct {
		adm  func(*AdministrationSettings)
		cust func(*CustomerSettings)
	}
	noEmail := func(c *CustomerSettings) { c.Email = "" }
	noPostToggle := func(c *CustomerSettings) { c.SendByPost = false }
	noSMSToggle := func(c *CustomerSettings) { c.SendSMS = false }

	tests := []struct {
		name string
		kind StepKind
		mods
		want Decision
	}{
		// Email allowed: email wins, post is not needed.
		{name: "reminder by email", kind: StepReminder,
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "invoice by email", kind: StepInvoice,
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "email address is trimmed", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = "  debiteur@example.nl " }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},

		// The email toggle depends on the kind.
		{name: "invoice toggle off falls back to post", kind: StepInvoice,
			mods: mods{cust: func(c *CustomerSettings) { c.SendInvoicesByEmail = false }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailDisabledForCustomer}}}},
		{name: "reminders toggle off does not affect invoices", kind: StepInvoice,
			mods: mods{cust: func(c *CustomerSettings) { c.SendRemindersByEmail = false }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "reminders toggle off falls back to post", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.SendRemindersByEmail = false }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailDisabledForCustomer}}}},
		{name: "invoice toggle off does not affect reminders", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.SendInvoicesByEmail = false }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "statement follows the reminders toggle", kind: StepStatement,
			mods: mods{cust: func(c *CustomerSettings) { c.SendRemindersByEmail = false; c.SendSMS = false }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailDisabledForCustomer}, {ChannelSMS, ReasonSMSDisabledForCustomer}}}},
		{name: "toggle off wins over missing address", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = ""; c.SendRemindersByEmail = false }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailDisabledForCustomer}}}},

		// Email address problems.
		{name: "email missing falls back to post", kind: StepReminder,
			mods: mods{cust: noEmail},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}}}},
		{name: "blank email is missing", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = "   " }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}}}},
		{name: "bounced email falls back to post", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.BouncedEmail = "Debiteur@Example.nl" }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailBounced}}}},
		{name: "a new address after a bounce is used", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.BouncedEmail = "old@example.nl" }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "bounced provided email falls back to the verified one", kind: StepReminder,
			mods: mods{
				cust: func(c *CustomerSettings) { c.ProvidedEmail = "given@example.nl"; c.BouncedEmail = "given@example.nl" },
				adm:  func(a *AdministrationSettings) { a.UseProvidedEmail = true },
			},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "bounced email and no post: skipped with the bounce", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.BouncedEmail = "debiteur@example.nl"; c.SendByPost = false }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailBounced}, {ChannelPost, ReasonPostDisabledForCustomer}}}},
		{name: "email invalid falls back to post", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = "debiteur@example" }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailInvalid}}}},
		{name: "email with display name is invalid", kind: StepInvoice,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = "Jan <jan@example.nl>" }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailInvalid}}}},

		// Provided email (§1.3).
		{name: "provided email ignored by default", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.ProvidedEmail = "nieuw@example.nl" }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "provided email ignored by default even without verified email", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = ""; c.ProvidedEmail = "nieuw@example.nl" }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}}}},
		{name: "provided email used when administration allows", kind: StepReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.UseProvidedEmail = true },
				cust: func(c *CustomerSettings) { c.ProvidedEmail = "nieuw@example.nl" }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "nieuw@example.nl"}},
		{name: "provided email used when no verified email", kind: StepInvoice,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.UseProvidedEmail = true },
				cust: func(c *CustomerSettings) { c.Email = ""; c.ProvidedEmail = "nieuw@example.nl" }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "nieuw@example.nl"}},
		{name: "verified email when allowed but none provided", kind: StepReminder,
			mods: mods{adm: func(a *AdministrationSettings) { a.UseProvidedEmail = true }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "invalid provided email falls back to verified", kind: StepReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.UseProvidedEmail = true },
				cust: func(c *CustomerSettings) { c.ProvidedEmail = "not an address" }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl"}},
		{name: "invalid provided email and no verified email", kind: StepReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.UseProvidedEmail = true },
				cust: func(c *CustomerSettings) { c.Email = ""; c.ProvidedEmail = "nieuw@" }},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailInvalid}}}},

		// Post refusals, each with its own reason, and the skip.
		{name: "post disabled for customer: skipped", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c) }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForCustomer}}}},
		{name: "post disabled for administration: skipped", kind: StepInvoice,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.PostalEnabled = false },
				cust: noEmail},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForAdministration}}}},
		{name: "no postal address: skipped", kind: StepReminder,
			mods: mods{cust: func(c *CustomerSettings) { c.Email = "x"; c.HasPostalAddress = false }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailInvalid}, {ChannelPost, ReasonNoPostalAddress}}}},
		{name: "customer post toggle reported before administration switch", kind: StepReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.PostalEnabled = false },
				cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c); c.HasPostalAddress = false }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForCustomer}}}},
		{name: "invoice never adds SMS", kind: StepInvoice,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c) }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForCustomer}}}},

		// Final reminder: email and post.
		{name: "final reminder by email and post", kind: StepFinalReminder,
			want: Decision{Channels: []Channel{ChannelEmail, ChannelPost}, Email: "debiteur@example.nl"}},
		{name: "final reminder post switched off", kind: StepFinalReminder,
			mods: mods{adm: func(a *AdministrationSettings) { a.FinalReminderByPost = false }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelPost, ReasonFinalReminderPostDisabled}}}},
		{name: "final reminder post own reason before the switch", kind: StepFinalReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.FinalReminderByPost = false },
				cust: func(c *CustomerSettings) { c.HasPostalAddress = false }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelPost, ReasonNoPostalAddress}}}},
		{name: "final reminder email only when customer refuses post", kind: StepFinalReminder,
			mods: mods{cust: noPostToggle},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelPost, ReasonPostDisabledForCustomer}}}},
		{name: "final reminder post only without email, switch irrelevant", kind: StepFinalReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.FinalReminderByPost = false },
				cust: noEmail},
			want: Decision{Channels: []Channel{ChannelPost},
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}}}},
		{name: "final reminder skipped", kind: StepFinalReminder,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.PostalEnabled = false },
				cust: func(c *CustomerSettings) { c.SendRemindersByEmail = false }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailDisabledForCustomer}, {ChannelPost, ReasonPostDisabledForAdministration}}}},

		// SMS step: SMS only, each refusal its reason.
		{name: "sms step", kind: StepSMS,
			want: Decision{Channels: []Channel{ChannelSMS}, Mobile: wantMobile}},
		{name: "sms step already E.164", kind: StepSMS,
			mods: mods{cust: func(c *CustomerSettings) { c.Mobile = "+32470123456" }},
			want: Decision{Channels: []Channel{ChannelSMS}, Mobile: "+32470123456"}},
		{name: "sms step without email or post still sends", kind: StepSMS,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c) }},
			want: Decision{Channels: []Channel{ChannelSMS}, Mobile: wantMobile}},
		{name: "sms disabled for administration", kind: StepSMS,
			mods: mods{adm: func(a *AdministrationSettings) { a.SMSEnabled = false }},
			want: Decision{Skipped: true, Reason: ReasonSMSDisabledForAdministration,
				Refusals: []Refusal{{ChannelSMS, ReasonSMSDisabledForAdministration}}}},
		{name: "sms disabled for customer", kind: StepSMS,
			mods: mods{cust: noSMSToggle},
			want: Decision{Skipped: true, Reason: ReasonSMSDisabledForCustomer,
				Refusals: []Refusal{{ChannelSMS, ReasonSMSDisabledForCustomer}}}},
		{name: "mobile missing", kind: StepSMS,
			mods: mods{cust: func(c *CustomerSettings) { c.Mobile = "" }},
			want: Decision{Skipped: true, Reason: ReasonMobileMissing,
				Refusals: []Refusal{{ChannelSMS, ReasonMobileMissing}}}},
		{name: "mobile invalid", kind: StepSMS,
			mods: mods{cust: func(c *CustomerSettings) { c.Mobile = "bel me niet" }},
			want: Decision{Skipped: true, Reason: ReasonMobileInvalid,
				Refusals: []Refusal{{ChannelSMS, ReasonMobileInvalid}}}},
		{name: "national mobile without country is invalid", kind: StepSMS,
			mods: mods{cust: func(c *CustomerSettings) { c.Country = "" }},
			want: Decision{Skipped: true, Reason: ReasonMobileInvalid,
				Refusals: []Refusal{{ChannelSMS, ReasonMobileInvalid}}}},
		{name: "landline is not a mobile", kind: StepSMS,
			mods: mods{cust: func(c *CustomerSettings) { c.Mobile = "020 123 4567" }},
			want: Decision{Skipped: true, Reason: ReasonNotAMobile,
				Refusals: []Refusal{{ChannelSMS, ReasonNotAMobile}}}},
		{name: "administration switch reported before customer toggle", kind: StepSMS,
			mods: mods{
				adm:  func(a *AdministrationSettings) { a.SMSEnabled = false },
				cust: func(c *CustomerSettings) { noSMSToggle(c); c.Mobile = "" }},
			want: Decision{Skipped: true, Reason: ReasonSMSDisabledForAdministration,
				Refusals: []Refusal{{ChannelSMS, ReasonSMSDisabledForAdministration}}}},

		// Collection: email + post + SMS.
		{name: "collection on every channel", kind: StepCollection,
			want: Decision{Channels: []Channel{ChannelEmail, ChannelPost, ChannelSMS},
				Email: "debiteur@example.nl", Mobile: wantMobile}},
		{name: "collection SMS switched off", kind: StepCollection,
			mods: mods{adm: func(a *AdministrationSettings) { a.CollectionSMSEnabled = false }},
			want: Decision{Channels: []Channel{ChannelEmail, ChannelPost}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelSMS, ReasonCollectionSMSDisabled}}}},
		{name: "collection SMS refused by customer, not skipped", kind: StepCollection,
			mods: mods{cust: noSMSToggle},
			want: Decision{Channels: []Channel{ChannelEmail, ChannelPost}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelSMS, ReasonSMSDisabledForCustomer}}}},
		{name: "collection SMS own reason before the switch", kind: StepCollection,
			mods: mods{
				adm: func(a *AdministrationSettings) { a.CollectionSMSEnabled = false; a.SMSEnabled = false }},
			want: Decision{Channels: []Channel{ChannelEmail, ChannelPost}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelSMS, ReasonSMSDisabledForAdministration}}}},
		{name: "collection by post and SMS without email", kind: StepCollection,
			mods: mods{cust: noEmail},
			want: Decision{Channels: []Channel{ChannelPost, ChannelSMS}, Mobile: wantMobile,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}}}},
		{name: "collection final_reminder_by_post applies", kind: StepCollection,
			mods: mods{adm: func(a *AdministrationSettings) { a.FinalReminderByPost = false }},
			want: Decision{Channels: []Channel{ChannelEmail, ChannelSMS}, Email: "debiteur@example.nl", Mobile: wantMobile,
				Refusals: []Refusal{{ChannelPost, ReasonFinalReminderPostDisabled}}}},
		{name: "collection by SMS alone is not skipped", kind: StepCollection,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); c.HasPostalAddress = false }},
			want: Decision{Channels: []Channel{ChannelSMS}, Mobile: wantMobile,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonNoPostalAddress}}}},
		{name: "collection skipped when nothing can go", kind: StepCollection,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c); c.Mobile = "020 123 4567" }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForCustomer}, {ChannelSMS, ReasonNotAMobile}}}},

		// Statement: email else post, plus SMS.
		{name: "statement by email and SMS", kind: StepStatement,
			want: Decision{Channels: []Channel{ChannelEmail, ChannelSMS}, Email: "debiteur@example.nl", Mobile: wantMobile}},
		{name: "statement never doubles email with post", kind: StepStatement,
			mods: mods{adm: func(a *AdministrationSettings) { a.StatementSMSEnabled = false }},
			want: Decision{Channels: []Channel{ChannelEmail}, Email: "debiteur@example.nl",
				Refusals: []Refusal{{ChannelSMS, ReasonStatementSMSDisabled}}}},
		{name: "statement by post and SMS", kind: StepStatement,
			mods: mods{cust: noEmail},
			want: Decision{Channels: []Channel{ChannelPost, ChannelSMS}, Mobile: wantMobile,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}}}},
		{name: "statement by SMS alone", kind: StepStatement,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c) }},
			want: Decision{Channels: []Channel{ChannelSMS}, Mobile: wantMobile,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForCustomer}}}},
		{name: "statement skipped with SMS mobile missing", kind: StepStatement,
			mods: mods{cust: func(c *CustomerSettings) { noEmail(c); noPostToggle(c); c.Mobile = " " }},
			want: Decision{Skipped: true, Reason: ReasonNoChannel,
				Refusals: []Refusal{{ChannelEmail, ReasonEmailMissing}, {ChannelPost, ReasonPostDisabledForCustomer}, {ChannelSMS, ReasonMobileMissing}}}},

		// Unknown kind.
		{name: "unknown kind is skipped", kind: StepKind("fax"),
			want: Decision{Skipped: true, Reason: ReasonUnknownStepKind}},
		{name: "empty kind is skipped", kind: "",
			want: Decision{Skipped: true, Reason: ReasonUnknownStepKind}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			adm, cust := allOnAdm(), reachableCust()
			if tc.adm != nil {
				tc.adm(&adm)
			}
			if tc.cust != nil {
				tc.cust(&cust)
			}
			got := Decide(tc.kind, adm, cust)
			if tc.want.Email != "" && tc.want.EmailTo == nil {
				// Without contacts the customer's address is the one recipient.
				tc.want.EmailTo = []string{tc.want.Email}
			}
			require.Equal(t, tc.want, got)

			// Invariants every decision keeps.
			require.Equal(t, len(got.Channels) == 0, got.Skipped, "skipped iff no channel")
			require.Equal(t, got.Skipped, got.Reason != "", "reason iff skipped")
			require.Equal(t, got.Has(ChannelEmail), got.Email != "", "email address iff email channel")
			require.Equal(t, got.Has(ChannelSMS), got.Mobile != "", "mobile iff sms channel")
			requireChannelOrder(t, got)
			require.Equal(t, got, Decide(tc.kind, adm, cust), "deterministic")
		})
	}
}

// requireChannelOrder checks that channels and refusals follow email, post,
// SMS, and that no channel is both used and refused.
func requireChannelOrder(t *testing.T, d Decision) {
	t.Helper()
	rank := map[Channel]int{ChannelEmail: 0, ChannelPost: 1, ChannelSMS: 2}
	for i := 1; i < len(d.Channels); i++ {
		require.Less(t, rank[d.Channels[i-1]], rank[d.Channels[i]])
	}
	for i := 1; i < len(d.Refusals); i++ {
		require.Less(t, rank[d.Refusals[i-1].Channel], rank[d.Refusals[i].Channel])
	}
	for _, r := range d.Refusals {
		require.False(t, d.Has(r.Channel), "%s both used and refused", r.Channel)
	}
}

// TestDecideEveryReason makes sure every documented reason is reachable, so a
// reason cannot be declared and silently never produced.
func TestDecideEveryReason(t *testing.T) {
	seen := map[SkipReason]bool{}
	kinds := []StepKind{StepInvoice, StepReminder, StepFinalReminder, StepSMS, StepCollection, StepStatement, "bogus"}
	bools := []bool{false, true}
	emails := []string{"", "bad", "ok@example.com"}
	mobiles := []string{"", "xyz", "020 123 4567", "0612345678"}
	for _, k := range kinds {
		for _, on := range bools {
			for _, e := range emails {
				for _, m := range mobiles {
					for mask := 0; mask < 1<<7; mask++ {
						adm := AdministrationSettings{
							PostalEnabled: mask&1 != 0, FinalReminderByPost: mask&2 != 0, SMSEnabled: mask&4 != 0,
							CollectionSMSEnabled: mask&8 != 0, StatementSMSEnabled: mask&8 != 0,
						}
						cust := CustomerSettings{Email: e, SendInvoicesByEmail: on, SendRemindersByEmail: on,
							SendByPost: mask&16 != 0, HasPostalAddress: mask&32 != 0, SendSMS: mask&64 != 0,
							Mobile: m, Country: "NL"}
						d := Decide(k, adm, cust)
						seen[d.Reason] = true
						for _, r := range d.Refusals {
							seen[r.Reason] = true
						}
					}
				}
			}
		}
	}
	for _, r := range []SkipReason{
		ReasonNoChannel, ReasonUnknownStepKind,
		ReasonEmailDisabledForCustomer, ReasonEmailMissing, ReasonEmailInvalid,
		ReasonPostDisabledForCustomer, ReasonPostDisabledForAdministration, ReasonNoPostalAddress, ReasonFinalReminderPostDisabled,
		ReasonSMSDisabledForAdministration, ReasonSMSDisabledForCustomer, ReasonMobileMissing, ReasonMobileInvalid, ReasonNotAMobile,
		ReasonCollectionSMSDisabled, ReasonStatementSMSDisabled,
	} {
		require.True(t, seen[r], "reason %q never produced", r)
	}
}

func TestStepKindValid(t *testing.T) {
	for _, k := range []StepKind{StepInvoice, StepReminder, StepFinalReminder, StepSMS, StepCollection, StepStatement} {
		require.True(t, k.Valid(), k)
	}
	for _, k := range []StepKind{"", "Reminder", "letter", "final-reminder"} {
		require.False(t, k.Valid(), k)
	}
}

func TestDecisionHelpers(t *testing.T) {
	d := Decide(StepFinalReminder, allOnAdm(), func() CustomerSettings {
		c := reachableCust()
		c.HasPostalAddress = false
		return c
	}())
	require.True(t, d.Has(ChannelEmail))
	require.False(t, d.Has(ChannelPost))
	r, ok := d.RefusalFor(ChannelPost)
	require.True(t, ok)
	require.Equal(t, ReasonNoPostalAddress, r)
	_, ok = d.RefusalFor(ChannelSMS)
	require.False(t, ok, "SMS is not considered for a final reminder")
}

// TestDecideContacts: who receives an email when the customer has contact
// persons (docs/domain.md §1.2): the kind's role, CC, the customer's
// address as the fallback, bounced and invalid contacts left out.
func TestDecideContacts(t *testing.T) {
	billing := Contact{Email: "billing@example.nl", Roles: []ContactRole{RoleBilling}}
	reminders := Contact{Email: "ap@example.nl", Roles: []ContactRole{RoleReminders, RoleCollection}}
	ccBoss := Contact{Email: "cfo@example.nl", Roles: []ContactRole{RoleReminders, RoleBilling}, CC: true}
	collection := Contact{Email: "legal@example.nl", Roles: []ContactRole{RoleCollection}}
	with := func(mod func(*CustomerSettings), cs ...Contact) CustomerSettings {
		c := reachableCust()
		c.Contacts = cs
		if mod != nil {
			mod(&c)
		}
		return c
	}
	noEmail := func(c *CustomerSettings) { c.Email = "" }
	for _, tc := range []struct {
		name     string
		kind     StepKind
		cust     CustomerSettings
		to, cc   []string
		reason   SkipReason // the email refusal, when email cannot go
		channels []Channel
	}{
		{"an invoice goes to the billing contact", StepInvoice, with(nil, billing, reminders), []string{"billing@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"a reminder goes to the reminders contact", StepReminder, with(nil, billing, reminders), []string{"ap@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"a statement goes to the reminders contacts", StepStatement, with(nil, billing, reminders), []string{"ap@example.nl"}, nil, "", []Channel{ChannelEmail, ChannelSMS}},
		{"a collection notice goes to every collection contact", StepCollection, with(nil, reminders, collection, billing),
			[]string{"ap@example.nl", "legal@example.nl"}, nil, "", []Channel{ChannelEmail, ChannelPost, ChannelSMS}},
		{"no contact of the role: the customer's address", StepInvoice, with(nil, reminders), []string{"debiteur@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"a CC contact is copied beside the role's contact", StepReminder, with(nil, reminders, ccBoss), []string{"ap@example.nl"}, []string{"cfo@example.nl"}, "", []Channel{ChannelEmail}},
		{"a CC contact is copied beside the customer's address", StepInvoice, with(nil, ccBoss), []string{"debiteur@example.nl"}, []string{"cfo@example.nl"}, "", []Channel{ChannelEmail}},
		{"only a CC contact: it receives the email", StepInvoice, with(noEmail, ccBoss), []string{"cfo@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"a customer without an address is reachable through a contact", StepReminder, with(noEmail, reminders), []string{"ap@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"a bounced contact is left out, the customer's address takes over", StepReminder,
			with(nil, Contact{Email: "ap@example.nl", Roles: []ContactRole{RoleReminders}, BouncedEmail: "AP@example.nl"}), []string{"debiteur@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"every address bounced: email_bounced, post instead", StepReminder,
			with(func(c *CustomerSettings) { c.BouncedEmail = c.Email }, Contact{Email: "ap@example.nl", Roles: []ContactRole{RoleReminders}, BouncedEmail: "ap@example.nl"}),
			nil, nil, ReasonEmailBounced, []Channel{ChannelPost}},
		{"an invalid contact is left out", StepReminder, with(noEmail, Contact{Email: "not an address", Roles: []ContactRole{RoleReminders}}),
			nil, nil, ReasonEmailInvalid, []Channel{ChannelPost}},
		{"the toggle stops the contacts too", StepReminder, with(func(c *CustomerSettings) { c.SendRemindersByEmail = false }, reminders),
			nil, nil, ReasonEmailDisabledForCustomer, []Channel{ChannelPost}},
		{"a contact listed twice is one recipient", StepReminder, with(nil, reminders, Contact{Email: "AP@example.nl", Roles: []ContactRole{RoleReminders}},
			Contact{Email: "ap@example.nl", Roles: []ContactRole{RoleReminders}, CC: true}), []string{"ap@example.nl"}, nil, "", []Channel{ChannelEmail}},
		{"an SMS step ignores contacts", StepSMS, with(noEmail, reminders), nil, nil, "", []Channel{ChannelSMS}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.kind, allOnAdm(), tc.cust)
			require.Equal(t, tc.channels, d.Channels)
			require.Equal(t, tc.to, d.EmailTo)
			require.Equal(t, tc.cc, d.EmailCc)
			if len(tc.to) > 0 {
				require.Equal(t, tc.to[0], d.Email)
			}
			r, refused := d.RefusalFor(ChannelEmail)
			require.Equal(t, tc.reason != "", refused)
			require.Equal(t, tc.reason, r)
		})
	}
}
