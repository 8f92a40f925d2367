package policy

// StepKind names the kind of a journey step. The channel rules differ by kind
// (which email toggle applies, whether post doubles email, whether SMS is
// added), so Decide needs it; the values are stored in journeys and on the
// timeline, so they are stable strings.
type StepKind string

// The step kinds of docs/domain.md §1.4 and §1.6.
const (
	// StepInvoice sends the invoice itself; it is governed by the customer's
	// send_invoices_by_email toggle rather than the reminders toggle.
	StepInvoice StepKind = "invoice"
	// StepReminder is an ordinary payment reminder: one channel, email first.
	StepReminder StepKind = "reminder"
	// StepFinalReminder is the last reminder before collection; it goes by
	// email and post together when the administration asks for it, because a
	// letter carries more weight (and proof) than an email.
	StepFinalReminder StepKind = "final_reminder"
	// StepSMS is a journey step that sends an SMS and nothing else.
	StepSMS StepKind = "sms"
	// StepCollection is a notice of the collection procedure (§1.5); it goes
	// like a final reminder and also sends an SMS unless switched off.
	StepCollection StepKind = "collection"
	// StepStatement is the open-items summary (§1.6); it goes by email or post
	// and may also go as a short SMS with the portal link.
	StepStatement StepKind = "statement"
)

// Valid reports whether k is one of the known step kinds, so that callers can
// reject a journey definition or an API payload before it reaches Decide.
func (k StepKind) Valid() bool {
	switch k {
	case StepInvoice, StepReminder, StepFinalReminder, StepSMS, StepCollection, StepStatement:
		return true
	}
	return false
}

// Channel is a way of reaching a customer. The values are stored on messages
// and on the timeline, so they are stable strings.
type Channel string

// The channels, listed in the order Decide reports them.
const (
	// ChannelEmail is an email to the customer's address.
	ChannelEmail Channel = "email"
	// ChannelPost is a printed letter to the customer's postal address.
	ChannelPost Channel = "post"
	// ChannelSMS is a text message to the customer's mobile number.
	ChannelSMS Channel = "sms"
)

// SkipReason says why a channel was refused, or why a step was skipped. Each
// refusal has its own reason so that the timeline can tell an admin exactly
// which setting or which missing datum to fix.
type SkipReason string

// The reasons Decide gives. The email, post and SMS reasons are checked in the
// order they are listed within their group, and the first that applies is
// reported, so the reason shown is the most fundamental one.
const (
	// ReasonNoChannel: no channel at all could carry the step, so it is skipped
	// and the invoice needs attention; the refusals say why per channel.
	ReasonNoChannel SkipReason = "no_channel"
	// ReasonUnknownStepKind: the step kind is not one Decide knows, so nothing
	// is sent rather than guessing.
	ReasonUnknownStepKind SkipReason = "unknown_step_kind"
	// ReasonCompanyDetailsMissing: the template prints a company or
	// signing-user detail the administration lacks (bank details, ...); the
	// step is held rather than sent with a blank, and the administration is
	// flagged with the fields to fill in. The sender decides it, not Decide.
	ReasonCompanyDetailsMissing SkipReason = "company_details_missing"

	// ReasonEmailDisabledForCustomer: the customer's email toggle for this kind
	// (send_invoices_by_email or send_reminders_by_email) is off.
	ReasonEmailDisabledForCustomer SkipReason = "email_disabled_for_customer"
	// ReasonEmailMissing: the customer has no email address (and no usable
	// provided address).
	ReasonEmailMissing SkipReason = "email_missing"
	// ReasonEmailInvalid: the customer has an address, but it is not a valid
	// bare email address (see ValidEmail).
	ReasonEmailInvalid SkipReason = "email_invalid"
	// ReasonEmailBounced: mail to the customer's address came back for good
	// (a hard bounce); it is not used again until the address changes.
	ReasonEmailBounced SkipReason = "email_bounced"

	// ReasonPostDisabledForCustomer: the customer's send_by_post toggle is off,
	// which means no letter, ever.
	ReasonPostDisabledForCustomer SkipReason = "post_disabled_for_customer"
	// ReasonPostDisabledForAdministration: the administration has switched
	// postal sending off (postal_enabled).
	ReasonPostDisabledForAdministration SkipReason = "post_disabled_for_administration"
	// ReasonNoPostalAddress: a letter would be allowed but the customer has no
	// postal address.
	ReasonNoPostalAddress SkipReason = "no_postal_address"
	// ReasonFinalReminderPostDisabled: a letter was possible alongside the
	// email of a final reminder or collection notice, but the administration
	// does not send those by post too (final_reminder_by_post).
	ReasonFinalReminderPostDisabled SkipReason = "final_reminder_post_disabled"

	// ReasonSMSDisabledForAdministration: the administration's SMS switch
	// (sms_enabled) is off.
	ReasonSMSDisabledForAdministration SkipReason = "sms_disabled_for_administration"
	// ReasonSMSDisabledForCustomer: the customer's send_sms toggle is off.
	ReasonSMSDisabledForCustomer SkipReason = "sms_disabled_for_customer"
	// ReasonMobileMissing: SMS is allowed but the customer has no mobile number.
	ReasonMobileMissing SkipReason = "mobile_missing"
	// ReasonMobileInvalid: the stored number does not parse as a valid phone
	// number in the customer's country.
	ReasonMobileInvalid SkipReason = "mobile_invalid"
	// ReasonNotAMobile: the number is valid but is a landline (or another type
	// that cannot receive SMS).
	ReasonNotAMobile SkipReason = "not_a_mobile"
	// ReasonCollectionSMSDisabled: an SMS was possible with a collection
	// notice, but the administration switched collection SMS off
	// (collection_sms_enabled).
	ReasonCollectionSMSDisabled SkipReason = "collection_sms_disabled"
	// ReasonStatementSMSDisabled: an SMS was possible with an open-items
	// summary, but the administration does not send statements by SMS.
	ReasonStatementSMSDisabled SkipReason = "statement_sms_disabled"
)

// AdministrationSettings are the send settings of one administration (ledger)
// that bear on the channel choice. Email has no switch here on purpose: it
// cannot be turned off for a whole administration (§1.2).
type AdministrationSettings struct {
	// PostalEnabled allows letters at all (postal_enabled, default on).
	PostalEnabled bool
	// FinalReminderByPost sends final reminders and collection notices by post
	// as well as by email (final_reminder_by_post, default on).
	FinalReminderByPost bool
	// SMSEnabled is the global SMS switch (sms_enabled, the "Envoi" option).
	SMSEnabled bool
	// CollectionSMSEnabled adds an SMS to collection notices
	// (collection_sms_enabled, default on).
	CollectionSMSEnabled bool
	// StatementSMSEnabled adds a short SMS to open-items summaries.
	StatementSMSEnabled bool
	// UseProvidedEmail sends to the address a customer gave in the portal
	// before an admin has verified it (use_provided_email, default off).
	UseProvidedEmail bool
}

// CustomerSettings are the contact data and send toggles of one customer, as
// they are when the step is sent.
type CustomerSettings struct {
	// Email is the verified address (from an import or accepted by an admin).
	Email string
	// ProvidedEmail is the address the customer gave in the portal, not yet
	// verified; used only when the administration allows it.
	ProvidedEmail string
	// BouncedEmail is the last address that hard-bounced: an address equal
	// to it (case-insensitively) is not used.
	BouncedEmail string
	// Contacts are the customer's contact persons; those with the role of
	// a kind receive its emails (see Decide).
	Contacts []Contact
	// SendInvoicesByEmail is the email toggle for StepInvoice.
	SendInvoicesByEmail bool
	// SendRemindersByEmail is the email toggle for every other kind.
	SendRemindersByEmail bool
	// SendByPost allows letters to this customer; off means no letter, ever.
	SendByPost bool
	// SendSMS allows text messages to this customer.
	SendSMS bool
	// HasPostalAddress tells whether a letter could be addressed at all.
	HasPostalAddress bool
	// Mobile is the number as stored: E.164, or raw as imported.
	Mobile string
	// Country is the customer's ISO 3166 alpha-2 code, used to parse a Mobile
	// written in national format.
	Country string
}

// ContactRole says which messages a customer's contact person receives
// by email. The values are stored and shown, so they are stable strings.
type ContactRole string

// The contact roles.
const (
	// RoleBilling receives invoices.
	RoleBilling ContactRole = "billing"
	// RoleReminders receives reminders, final reminders and open-items
	// statements.
	RoleReminders ContactRole = "reminders"
	// RoleCollection receives the notices of the collection procedure.
	RoleCollection ContactRole = "collection"
)

// Valid reports whether r is a known role.
func (r ContactRole) Valid() bool {
	return r == RoleBilling || r == RoleReminders || r == RoleCollection
}

// RoleFor is the contact role whose contacts receive an email of kind k;
// "" for a kind that sends no email (an SMS step).
func RoleFor(k StepKind) ContactRole {
	switch k {
	case StepInvoice:
		return RoleBilling
	case StepReminder, StepFinalReminder, StepStatement:
		return RoleReminders
	case StepCollection:
		return RoleCollection
	}
	return ""
}

// Contact is a customer's contact person as the channel choice reads it.
type Contact struct {
	// Email is the contact's address.
	Email string
	// Roles are the kinds of message the contact receives.
	Roles []ContactRole
	// CC puts the contact in copy rather than among the recipients.
	CC bool
	// BouncedEmail is the contact's address that hard-bounced, if any.
	BouncedEmail string
}

// Refusal records one channel that was considered for a step and not used,
// with the reason, so that the timeline can show why no email, letter or SMS
// went.
type Refusal struct {
	Channel Channel
	Reason  SkipReason
}

// Decision is the outcome of Decide: the channels to send on, the addresses
// to use, and the channels refused. Channels and Refusals are in the fixed
// order email, post, SMS so that the result is deterministic and comparable.
type Decision struct {
	// Channels to send on; empty when Skipped.
	Channels []Channel
	// Email is the first address to send to; set only when Channels has
	// ChannelEmail. EmailTo are all of them (Email first), EmailCc the
	// addresses in copy.
	Email   string
	EmailTo []string
	EmailCc []string
	// Mobile is the E.164 number to use; set only when Channels has ChannelSMS.
	Mobile string
	// Refusals lists every channel considered and not used, with its reason.
	Refusals []Refusal
	// Skipped is true when no channel carries the step.
	Skipped bool
	// Reason is the main reason when Skipped: the SMS reason for StepSMS,
	// ReasonNoChannel otherwise (the refusals give the detail).
	Reason SkipReason
}

// Has reports whether the decision sends on channel c; a convenience for
// callers that render one message per channel.
func (d Decision) Has(c Channel) bool {
	for _, ch := range d.Channels {
		if ch == c {
			return true
		}
	}
	return false
}

// RefusalFor returns the reason channel c was refused, and false when it was
// not refused (either used or not considered for this kind).
func (d Decision) RefusalFor(c Channel) (SkipReason, bool) {
	for _, r := range d.Refusals {
		if r.Channel == c {
			return r.Reason, true
		}
	}
	return "", false
}
