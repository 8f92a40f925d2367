package policy

import (
	"errors"
	"strings"
)

// Decide chooses the channels for one step of kind kind, from the
// administration's and the customer's settings as they are now (§1.2).
//
// The rules:
//   - Email is allowed when the customer's toggle for the kind is on
//     (SendInvoicesByEmail for invoices, SendRemindersByEmail otherwise) and
//     someone can receive it: the customer's contacts with the kind's role
//     (RoleFor) that are not in copy, else the customer's own address (the
//     provided one when the administration uses provided emails and it is
//     valid, else the verified one), else a contact of the role in copy.
//     The role's contacts marked CC are copied. Addresses that bounced or
//     are invalid are left out; when none is left the refusal says why.
//   - Post is allowed when the customer's SendByPost, the administration's
//     PostalEnabled and a postal address are all there.
//   - One channel normally: email if allowed, else post, else the step is
//     skipped with ReasonNoChannel.
//   - Final reminders and collection notices go by email and post when both
//     are allowed and the administration's FinalReminderByPost is on.
//   - StepSMS sends an SMS only; when SMS is not allowed it is skipped with the
//     specific SMS reason.
//   - Collection notices add an SMS when CollectionSMSEnabled, statements when
//     StatementSMSEnabled, provided SMS is allowed. An extra SMS never causes
//     a skip; an SMS alone is enough for the step not to be skipped.
//
// Every channel that the kind considers and that is not used appears in
// Refusals with the first reason that applies; a channel that was not needed
// (post for a reminder that went by email) is not a refusal.
func Decide(kind StepKind, adm AdministrationSettings, cust CustomerSettings) Decision {
	var d Decision
	refuse := func(c Channel, r SkipReason) {
		d.Refusals = append(d.Refusals, Refusal{Channel: c, Reason: r})
	}

	switch kind {
	case StepSMS:
		mobile, reason := smsAllowed(adm, cust)
		if reason != "" {
			refuse(ChannelSMS, reason)
			d.Skipped, d.Reason = true, reason
			return d
		}
		d.Channels, d.Mobile = []Channel{ChannelSMS}, mobile
		return d

	case StepInvoice, StepReminder, StepFinalReminder, StepCollection, StepStatement:
		// handled below

	default:
		d.Skipped, d.Reason = true, ReasonUnknownStepKind
		return d
	}

	email, emailReason := emailAllowed(kind, adm, cust)
	postReason := postAllowed(adm, cust)

	if emailReason == "" {
		d.Channels, d.Email = append(d.Channels, ChannelEmail), email.to[0]
		d.EmailTo, d.EmailCc = email.to, email.cc
	} else {
		refuse(ChannelEmail, emailReason)
	}

	switch {
	case emailReason != "" && postReason == "":
		// Post is the fallback when email cannot go.
		d.Channels = append(d.Channels, ChannelPost)
	case emailReason != "":
		refuse(ChannelPost, postReason)
	case kind == StepFinalReminder || kind == StepCollection:
		// Email goes; these kinds may double it with a letter.
		switch {
		case postReason != "":
			refuse(ChannelPost, postReason)
		case !adm.FinalReminderByPost:
			refuse(ChannelPost, ReasonFinalReminderPostDisabled)
		default:
			d.Channels = append(d.Channels, ChannelPost)
		}
	}

	var extraSMS, extraSMSOn bool
	var extraSMSOff SkipReason
	switch kind {
	case StepCollection:
		extraSMS, extraSMSOn, extraSMSOff = true, adm.CollectionSMSEnabled, ReasonCollectionSMSDisabled
	case StepStatement:
		extraSMS, extraSMSOn, extraSMSOff = true, adm.StatementSMSEnabled, ReasonStatementSMSDisabled
	}
	if extraSMS {
		// The channel's own eligibility is reported first, so that the
		// kind-specific switch is named only when it alone stops the SMS.
		mobile, reason := smsAllowed(adm, cust)
		switch {
		case reason != "":
			refuse(ChannelSMS, reason)
		case !extraSMSOn:
			refuse(ChannelSMS, extraSMSOff)
		default:
			d.Channels, d.Mobile = append(d.Channels, ChannelSMS), mobile
		}
	}

	if len(d.Channels) == 0 {
		d.Skipped, d.Reason = true, ReasonNoChannel
	}
	return d
}

// emailRecipients are the addresses of one email.
type emailRecipients struct{ to, cc []string }

// emailAllowed returns the addresses to use, or the reason email is refused.
// The toggle is checked before the addresses because a deliberate "no email"
// explains the refusal better than a missing address would.
func emailAllowed(kind StepKind, adm AdministrationSettings, cust CustomerSettings) (emailRecipients, SkipReason) {
	var out emailRecipients
	toggle := cust.SendRemindersByEmail
	if kind == StepInvoice {
		toggle = cust.SendInvoicesByEmail
	}
	if !toggle {
		return out, ReasonEmailDisabledForCustomer
	}

	seen, bounced := false, false
	// usable says whether addr may be sent to, noting why not.
	usable := func(addr, bouncedAddr string) bool {
		if addr == "" {
			return false
		}
		seen = true
		if bouncedAddr != "" && strings.EqualFold(addr, strings.TrimSpace(bouncedAddr)) {
			bounced = true
			return false
		}
		return ValidEmail(addr)
	}
	has := func(list []string, addr string) bool {
		for _, x := range list {
			if strings.EqualFold(x, addr) {
				return true
			}
		}
		return false
	}
	role := RoleFor(kind)
	var copies []string
	for _, c := range cust.Contacts {
		addr := strings.TrimSpace(c.Email)
		if !hasRole(c.Roles, role) || !usable(addr, c.BouncedEmail) {
			continue
		}
		switch {
		case c.CC && !has(copies, addr):
			copies = append(copies, addr)
		case !c.CC && !has(out.to, addr):
			out.to = append(out.to, addr)
		}
	}
	if len(out.to) == 0 {
		if addr := customerAddress(adm, cust, usable); addr != "" {
			out.to = []string{addr}
		}
	}
	if len(out.to) == 0 && len(copies) > 0 {
		// Only contacts in copy can be reached: one of them receives it.
		out.to, copies = copies[:1], copies[1:]
	}
	for _, c := range copies {
		if !has(out.to, c) {
			out.cc = append(out.cc, c)
		}
	}
	switch {
	case len(out.to) > 0:
		return out, ""
	case bounced:
		return out, ReasonEmailBounced
	case seen:
		return out, ReasonEmailInvalid
	}
	return out, ReasonEmailMissing
}

// customerAddress is the customer's own address to use, or "".
func customerAddress(adm AdministrationSettings, cust CustomerSettings, usable func(addr, bounced string) bool) string {
	// Stored addresses may carry stray spaces from imports or the portal;
	// they are not a reason to refuse.
	verified := strings.TrimSpace(cust.Email)
	provided := strings.TrimSpace(cust.ProvidedEmail)
	candidates := []string{verified}
	if adm.UseProvidedEmail && provided != "" {
		// The customer gave this address to be reached at; prefer it, but
		// fall back to the verified one if it is unusable.
		candidates = []string{provided, verified}
	}
	for _, c := range candidates {
		if usable(c, cust.BouncedEmail) {
			return c
		}
	}
	return ""
}

func hasRole(roles []ContactRole, r ContactRole) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// postAllowed returns the reason a letter is refused, or "" when it may go.
// The customer's toggle comes first because it is absolute ("no letter,
// ever"), then the administration's switch, then the missing address.
func postAllowed(adm AdministrationSettings, cust CustomerSettings) SkipReason {
	switch {
	case !cust.SendByPost:
		return ReasonPostDisabledForCustomer
	case !adm.PostalEnabled:
		return ReasonPostDisabledForAdministration
	case !cust.HasPostalAddress:
		return ReasonNoPostalAddress
	}
	return ""
}

// smsAllowed returns the E.164 number to text, or the reason SMS is refused:
// the switches first (they explain more than a bad number), then the number.
func smsAllowed(adm AdministrationSettings, cust CustomerSettings) (string, SkipReason) {
	switch {
	case !adm.SMSEnabled:
		return "", ReasonSMSDisabledForAdministration
	case !cust.SendSMS:
		return "", ReasonSMSDisabledForCustomer
	}
	mobile, err := NormalizeMobile(cust.Mobile, cust.Country)
	switch {
	case err == nil:
		return mobile, ""
	case errors.Is(err, ErrMobileMissing):
		return "", ReasonMobileMissing
	case errors.Is(err, ErrNotMobile):
		return "", ReasonNotAMobile
	default:
		return "", ReasonMobileInvalid
	}
}

// DecideChannel is Decide for a message whose channel the admin chose (an
// open-items statement sent on demand "by SMS"): the one channel is allowed
// or refused by the same rules as Decide, with the same reasons, and no
// other channel stands in for it. For a statement by SMS the
// administration's StatementSMSEnabled switch is checked after the SMS
// channel's own eligibility, as Decide does.
func DecideChannel(kind StepKind, ch Channel, adm AdministrationSettings, cust CustomerSettings) Decision {
	var d Decision
	if !kind.Valid() {
		d.Skipped, d.Reason = true, ReasonUnknownStepKind
		return d
	}
	var reason SkipReason
	switch ch {
	case ChannelEmail:
		var email emailRecipients
		if email, reason = emailAllowed(kind, adm, cust); reason == "" {
			d.Email, d.EmailTo, d.EmailCc = email.to[0], email.to, email.cc
		}
	case ChannelPost:
		reason = postAllowed(adm, cust)
	case ChannelSMS:
		d.Mobile, reason = smsAllowed(adm, cust)
		switch {
		case reason != "":
		case kind == StepCollection && !adm.CollectionSMSEnabled:
			d.Mobile, reason = "", ReasonCollectionSMSDisabled
		case kind == StepStatement && !adm.StatementSMSEnabled:
			d.Mobile, reason = "", ReasonStatementSMSDisabled
		}
	default:
		d.Skipped, d.Reason = true, ReasonNoChannel
		return d
	}
	if reason != "" {
		d.Refusals = []Refusal{{Channel: ch, Reason: reason}}
		d.Skipped, d.Reason = true, reason
		return d
	}
	d.Channels = []Channel{ch}
	return d
}
