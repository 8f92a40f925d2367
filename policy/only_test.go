package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOnly(t *testing.T) {
	both := Decision{Channels: []Channel{ChannelEmail, ChannelPost}, Email: "a@example.com"}
	emailOnly := Decision{Channels: []Channel{ChannelEmail}, Email: "a@example.com",
		Refusals: []Refusal{{Channel: ChannelPost, Reason: ReasonNoPostalAddress}}}
	skipped := Decision{Skipped: true, Reason: ReasonNoChannel, Refusals: []Refusal{{Channel: ChannelEmail, Reason: ReasonEmailMissing}}}
	cases := []struct {
		name string
		d    Decision
		only []Channel
		want Decision
	}{
		{"no choice keeps the decision", both, nil, both},
		{"post only drops email", both, []Channel{ChannelPost},
			Decision{Channels: []Channel{ChannelPost}, Refusals: []Refusal{{Channel: ChannelEmail, Reason: ReasonNotChosen}}}},
		{"email only keeps its address", both, []Channel{ChannelEmail},
			Decision{Channels: []Channel{ChannelEmail}, Email: "a@example.com", Refusals: []Refusal{{Channel: ChannelPost, Reason: ReasonNotChosen}}}},
		{"a refused channel stays refused: skipped", emailOnly, []Channel{ChannelPost},
			Decision{Skipped: true, Reason: ReasonNoChannel, Refusals: []Refusal{{Channel: ChannelPost, Reason: ReasonNoPostalAddress}, {Channel: ChannelEmail, Reason: ReasonNotChosen}}}},
		{"a skipped decision stays skipped", skipped, []Channel{ChannelEmail}, skipped},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, Only(c.d, c.only))
		})
	}
}
