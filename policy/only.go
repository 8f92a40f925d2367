package policy

import "slices"

// ReasonNotChosen: the admin's manual action asked for other channels; this
// one was allowed but not chosen (docs/domain.md §1.4, manual actions).
const ReasonNotChosen SkipReason = "not_chosen"

// Only narrows a decision to the channels a manual action asked for: an
// allowed channel that was not asked for becomes a refusal (ReasonNotChosen);
// a channel asked for that the settings refuse stays refused with its own
// reason, since a manual action never overrides the channel rules (§1.2).
// When nothing is left, the step is skipped with ReasonNoChannel. An empty
// only keeps the decision as it is.
func Only(d Decision, only []Channel) Decision {
	if len(only) == 0 || d.Skipped {
		return d
	}
	out := Decision{Refusals: append([]Refusal(nil), d.Refusals...)}
	for _, c := range d.Channels {
		if !slices.Contains(only, c) {
			out.Refusals = append(out.Refusals, Refusal{Channel: c, Reason: ReasonNotChosen})
			continue
		}
		out.Channels = append(out.Channels, c)
		switch c {
		case ChannelEmail:
			out.Email = d.Email
		case ChannelSMS:
			out.Mobile = d.Mobile
		}
	}
	if len(out.Channels) == 0 {
		out.Skipped, out.Reason = true, ReasonNoChannel
	}
	return out
}
