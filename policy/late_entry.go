package policy

// LateEntryRank orders step kinds by how far into a journey they go, for the
// late-entry rule (an invoice imported long overdue enters at most at the
// administration's chosen step): invoice 0, reminder 1, final reminder and
// SMS 2 (a journey's SMS step goes with its last reminder), collection 3.
// Kinds that are not journey steps rank -1.
func LateEntryRank(k StepKind) int {
	switch k {
	case StepInvoice:
		return 0
	case StepReminder:
		return 1
	case StepFinalReminder, StepSMS:
		return 2
	case StepCollection:
		return 3
	}
	return -1
}

// LateEntryStep reports whether k may be chosen as the furthest step a late
// entry starts at: invoice, reminder, final_reminder or collection.
func LateEntryStep(k StepKind) bool {
	return k != StepSMS && LateEntryRank(k) >= 0
}
