// Package portal builds and checks the customers' personal portal links
// that every email, letter and SMS carries (seed 001), and the short codes
// printed where a long link does not fit.
package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadLink is returned for a link that was not issued by this server, was
// altered, or whose customer token was rotated since (a revoked link).
var ErrBadLink = errors.New("invalid portal link")

// ErrExpired is returned for a well-signed link past its expiry date.
var ErrExpired = errors.New("expired portal link")

// DefaultTTL is how long a link stays valid when Links.TTL is zero: long
// enough for a customer who opens an old reminder, short enough that a
// forwarded letter does not open the account forever.
const DefaultTTL = 180 * 24 * time.Hour

const day = 24 * time.Hour

// Links signs portal links with a server secret, so a link cannot be guessed
// from a customer ID or altered (its expiry included); rotating a
// customer's token revokes every link issued before.
type Links struct {
	BaseURL string // e.g. https://pay.example.com
	Secret  []byte
	// TTL is a link's validity from the moment it is issued; 0 means DefaultTTL.
	TTL time.Duration
}

// Link is a parsed portal token: the customer it names, its expiry and its
// signature, not yet checked against the customer's stored token.
type Link struct {
	CustomerID int64
	Expires    time.Time
	sig        string
	expDays    int64
}

func (l Links) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return DefaultTTL
}

// expiryDays is the expiry as whole days since the Unix epoch, rounded up:
// every link issued on one day for one customer is the same string.
func (l Links) expiryDays(issued time.Time) int64 {
	exp := issued.UTC().Add(l.ttl())
	return (exp.Unix() + int64(day/time.Second) - 1) / int64(day/time.Second)
}

// Token is the path element identifying a customer:
// "<id>.<expiry day, base 36>.<signature>", signed over all three and the
// customer's current token.
func (l Links) Token(customerID int64, customerToken string, issued time.Time) string {
	exp := l.expiryDays(issued)
	return strconv.FormatInt(customerID, 10) + "." + strconv.FormatInt(exp, 36) + "." + l.sign(customerID, exp, customerToken)
}

// URL is the customer's full portal link, issued at the given time.
func (l Links) URL(customerID int64, customerToken string, issued time.Time) string {
	return l.Home() + "/" + l.Token(customerID, customerToken, issued)
}

// Home is the portal's page where a customer types a short code.
func (l Links) Home() string {
	return strings.TrimRight(l.BaseURL, "/") + "/portal"
}

// Parse reads a token's parts; the caller loads the customer it names and
// calls Verify with its stored token.
func (l Links) Parse(token string) (Link, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 128 {
		return Link{}, ErrBadLink
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 {
		return Link{}, ErrBadLink
	}
	exp, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || exp <= 0 || exp > 1<<30 {
		return Link{}, ErrBadLink
	}
	return Link{CustomerID: id, Expires: time.Unix(exp*int64(day/time.Second), 0).UTC(), sig: parts[2], expDays: exp}, nil
}

// Verify checks the signature against the customer's token (ErrBadLink: a
// forged, altered or rotated link), then the expiry (ErrExpired); the
// signature comes first so that an altered link never says it expired.
func (l Links) Verify(k Link, customerToken string, now time.Time) error {
	if !hmac.Equal([]byte(k.sig), []byte(l.sign(k.CustomerID, k.expDays, customerToken))) {
		return ErrBadLink
	}
	if !now.Before(k.Expires) {
		return ErrExpired
	}
	return nil
}

func (l Links) sign(customerID, expDays int64, customerToken string) string {
	m := hmac.New(sha256.New, l.Secret)
	m.Write([]byte("portal-link:" + strconv.FormatInt(customerID, 10) + ":" + strconv.FormatInt(expDays, 10) + ":" + customerToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// codeAlphabet has no characters that read alike (0/O, 1/I/L, 5/S, 2/Z,
// 8/B): a code is typed from paper.
const codeAlphabet = "34679ACDEFGHJKMNPQRTUVWXY"

// CodeLength is the number of characters of a short code (about 37 bits).
const CodeLength = 8

// NewCode returns a random short code, as stored (no separator).
func NewCode() string {
	b := make([]byte, CodeLength)
	if _, err := rand.Read(b); err != nil {
		panic("portal: no randomness: " + err.Error())
	}
	out := make([]byte, CodeLength)
	for i, v := range b {
		// 256 is not a multiple of 25: the few values at the top are
		// folded, a bias far below what guessing through the rate limit
		// could use.
		out[i] = codeAlphabet[int(v)%len(codeAlphabet)]
	}
	return string(out)
}

// NormalizeCode reads a code as a customer types it: case, spaces and
// dashes do not matter. ok is false for anything that is not a code.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != CodeLength {
		return "", false
	}
	return b.String(), true
}

// FormatCode prints a stored code for people: two groups of four.
func FormatCode(code string) string {
	if len(code) != CodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}
