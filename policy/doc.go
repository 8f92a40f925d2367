// Package policy decides, for one step of a collection journey, which channels
// (email, post, SMS) carry the message and, for every channel it refuses, why.
//
// The rules are those of docs/domain.md §1.2. They live in a pure package, with no
// database, clock or network, because the decision is taken at the moment a
// step is sent from the settings as they are then: the sending activity reads
// the settings, calls Decide, and records the Decision (channels and refusals)
// on the timeline. Keeping it pure makes every rule table-testable and lets the
// timeline's "planned" view ask what would be chosen now without side effects.
package policy
