package activities

import (
	"context"
	"errors"
)

// SendBundle sends a customer's bundle (placeholder until the activity lands).
func (a *Activities) SendBundle(ctx context.Context, in SendBundleInput) (SendBundleResult, error) {
	return SendBundleResult{}, permanent(errors.New("bundles are not built yet"))
}
