package domain

// StatementInput asks for a customer's open-items statement now.
type StatementInput struct {
	// Channel is email, post or sms; empty sends by the channel rules.
	Channel string `json:"channel"`
}

// StatementRequested is a statement on its way: its workflow (seen in the
// Temporal UI) and its outbox key (its messages carry it, with the channel).
type StatementRequested struct {
	WorkflowID string `json:"workflow_id"`
	Key        string `json:"key"`
	// Channels are the channels it goes by (the rules' choice when none
	// was asked for).
	Channels  []string `json:"channels"`
	OpenItems int      `json:"open_items"`
}
