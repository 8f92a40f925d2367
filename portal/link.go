// Package portal builds and checks the customers' personal portal links
// that every email, letter and SMS carries (seed 001).
package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// ErrBadLink is returned for a link that was not issued by this server (or
// whose customer token was rotated).
var ErrBadLink = errors.New("invalid portal link")

// Links signs portal links with a server secret, so a link cannot be guessed
// from a customer ID; rotating a customer's token revokes its old links.
type Links struct {
	BaseURL string // e.g. https://pay.example.com
	Secret  []byte
}

// Token is the path element identifying a customer: "<id>.<signature>".
func (l Links) Token(customerID int64, customerToken string) string {
	return strconv.FormatInt(customerID, 10) + "." + l.sign(customerID, customerToken)
}

// URL is the customer's full portal link.
func (l Links) URL(customerID int64, customerToken string) string {
	return strings.TrimRight(l.BaseURL, "/") + "/portal/" + l.Token(customerID, customerToken)
}

// Parse returns the customer ID a token names; the caller then checks it
// with Verify against the customer's stored token.
func (l Links) Parse(token string) (int64, string, error) {
	id, sig, ok := strings.Cut(token, ".")
	if !ok {
		return 0, "", ErrBadLink
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, "", ErrBadLink
	}
	return n, sig, nil
}

// Verify reports whether sig was issued for this customer and token.
func (l Links) Verify(customerID int64, customerToken, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(l.sign(customerID, customerToken)))
}

func (l Links) sign(customerID int64, customerToken string) string {
	m := hmac.New(sha256.New, l.Secret)
	m.Write([]byte(strconv.FormatInt(customerID, 10) + ":" + customerToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}
