package policy

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Sentinel errors of NormalizeMobile. They are distinct so that Decide can
// give each its own refusal reason and the API can tell an admin what is
// wrong with a number; match them with errors.Is.
var (
	// ErrMobileMissing: no number was given.
	ErrMobileMissing = errors.New("mobile number missing")
	// ErrMobileInvalid: the text is not a valid phone number.
	ErrMobileInvalid = errors.New("mobile number invalid")
	// ErrNotMobile: the number is valid but cannot receive SMS (a landline,
	// a toll-free or premium number, ...).
	ErrNotMobile = errors.New("not a mobile number")
)

// NormalizeMobile parses raw, a phone number as stored (E.164, international
// with 00, or national), in the customer's country (ISO 3166 alpha-2; may be
// empty when raw starts with +), checks that it is a valid number that can
// receive SMS (type MOBILE, or FIXED_LINE_OR_MOBILE where the numbering plan
// cannot tell them apart), and returns it in E.164, the form the SMS provider
// and the database expect. It uses libphonenumber's metadata rather than
// hand-written patterns because numbering plans change.
func NormalizeMobile(raw, country string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ErrMobileMissing
	}
	region := strings.ToUpper(strings.TrimSpace(country))
	num, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", fmt.Errorf("parse %q in region %q: %w: %v", raw, region, ErrMobileInvalid, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%q in region %q is not a valid phone number: %w", raw, region, ErrMobileInvalid)
	}
	switch t := phonenumbers.GetNumberType(num); t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return "", fmt.Errorf("%q is a %s number: %w", raw, numberTypeName(t), ErrNotMobile)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// numberTypeName names a libphonenumber type for error messages, which the
// library does not do itself.
func numberTypeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return "fixed-line"
	case phonenumbers.TOLL_FREE:
		return "toll-free"
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate"
	case phonenumbers.SHARED_COST:
		return "shared-cost"
	case phonenumbers.VOIP:
		return "VoIP"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "UAN"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	}
	return "non-mobile"
}

// maxEmailLen is the longest address SMTP accepts (RFC 5321: a 256-octet path
// including the angle brackets).
const maxEmailLen = 254

// ValidEmail reports whether addr is a bare email address (no display name,
// no angle brackets, no surrounding spaces) that net/mail accepts, whose
// domain contains a dot and is not an address literal. It is deliberately
// stricter than RFC 5322: a dunning message must reach a real mailbox on the
// internet, and "Jane <jane@example.com>" or "jane@localhost" in a customer
// record is a data error to show, not something to send to.
func ValidEmail(addr string) bool {
	if addr == "" || len(addr) > maxEmailLen {
		return false
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return false
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return false
	}
	domain := addr[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, "[")
}
