// Package render turns message templates with #hashtags into what a customer
// receives: an email (HTML and plain text), an SMS (with its segment count)
// or the text of a letter (for the PDF writer). It also ships the default
// templates and formats money and dates for the customer's language.
//
// The package is pure: no I/O, no clock (the caller passes Data.Now), so the
// same function serves sending, previews (docs/domain.md §1.7) and tests, and a
// preview shows exactly what is sent.
//
// # Tags
//
// A tag is '#' followed by a lowercase ASCII letter and then lowercase
// letters, digits and underscores: #[a-z][a-z0-9_]*. Everything else that
// contains '#' is plain text: a lone '#', "invoice #123", "#Section",
// "#FF0000" and hexadecimal character references such as "&#x27;". The tags
// are defined once, in the table behind Tags; Validate refuses a text that
// uses any other tag, naming the first one, and every renderer refuses it too,
// so an unknown tag never reaches a customer as literal text.
//
// In a rich-text (HTML) body a tag is recognised in the text as the reader
// sees it, so a tag that an editor split with formatting ("<b>#</b>customer_name")
// is still a tag, and in the href of a link (<a href="#portal_link">).
//
// Missing data renders as an empty string (for instance #invoice_number in
// a statement, which concerns no single invoice): a message is never blocked
// by an optional field, and the preview shows the gap.
package render
