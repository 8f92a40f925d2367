package domain

// Readiness is what Ready found: one verdict per dependency ("ok", or why
// not), and whether all of them are ok.
type Readiness struct {
	OK     bool
	Checks map[string]string
}
