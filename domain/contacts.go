package domain

// ContactInput creates or changes a customer's contact person. On a
// change, nil fields stay as they are; on a creation Email and Roles are
// required.
type ContactInput struct {
	Name     *string
	Email    *string
	Phone    *string
	Language *string
	// Roles are billing, reminders and/or collection: which emails the
	// contact receives (docs/domain.md §1.2).
	Roles *[]string
	// CC puts the contact in copy instead of among the recipients.
	CC *bool
}
