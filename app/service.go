// Package app is Relance's application layer: every change of state that an
// edge asks for (the REST API, the import CLI, the demo seeder, later the
// portal) goes through one Service, which owns the database, the Temporal
// client, the clock and the logger. It creates invoices and starts, signals
// and queries their journeys, so that every edge follows the same rules.
package app

import (
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/portal"
)

// Service is the application service. Its methods are safe for concurrent use.
type Service struct {
	db       *gorm.DB
	temporal client.Client
	clock    func() time.Time
	log      *slog.Logger
	// namespace is the Temporal namespace of the client.
	namespace string
	// portal makes the customer's portal links of previews.
	portal portal.Links
	// actionWait bounds a manual action's wait for its send (SendAction).
	actionWait time.Duration
	// changePageSize and changePagesPerRun tune journey-change operations.
	changePageSize, changePagesPerRun int
	// marks are the journey_started marks written after the answer
	// (CreateInvoice), batched.
	marks *startMarks
}

// Options are the Service's dependencies.
type Options struct {
	DB       *gorm.DB
	Temporal client.Client
	// Namespace is the Temporal client's namespace; "" means "default".
	Namespace string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the service's log lines; nil means slog.Default().
	Logger *slog.Logger
	// Portal makes the #portal_link of previews, as the worker's does for
	// messages.
	Portal portal.Links
	// ActionWait is how long a manual action's request waits for the send
	// before it answers pending; 0 means DefaultActionWait.
	ActionWait time.Duration
	// ChangePageSize is how many running journeys a journey-change
	// operation signals per page, ChangePagesPerRun how many pages one run
	// of its workflow handles before it continues as new (0: the
	// workflows.DefaultChange… constants).
	ChangePageSize, ChangePagesPerRun int
}

// New returns the application service over its dependencies.
func New(o Options) *Service {
	s := &Service{db: o.DB, temporal: o.Temporal, clock: o.Now, log: o.Logger, namespace: o.Namespace, portal: o.Portal,
		actionWait: o.ActionWait, changePageSize: o.ChangePageSize, changePagesPerRun: o.ChangePagesPerRun,
		marks: &startMarks{pending: map[int][]int64{}}}
	if s.actionWait <= 0 {
		s.actionWait = DefaultActionWait
	}
	if s.namespace == "" {
		s.namespace = "default"
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.clock().UTC() }
