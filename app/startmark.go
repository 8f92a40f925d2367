package app

import (
	"context"
	"slices"
	"sync"

	"github.com/relance/relance/models"
)

// markBatch bounds the invoices one mark statement updates.
const markBatch = 500

// startMarks writes the journey_started marks of the invoices that
// CreateInvoice started, after the API has answered, several invoices per
// UPDATE: one flusher at a time takes every mark that arrived meanwhile, so
// that under load (many invoices created at once) the marks cost a fraction
// of a statement each instead of a second commit per invoice, and one at a
// time they cost what they did. A mark lost with its process is harmless
// (the reconciler finds the row, gets AlreadyStarted and marks it).
type startMarks struct {
	mu       sync.Mutex
	pending  map[int][]int64 // invoice IDs by journey cycle
	flushing bool
}

// markLater queues the mark of invoiceID's journey of cycle and starts the
// flusher when none runs.
func (s *Service) markLater(invoiceID int64, cycle int) {
	m := s.marks
	m.mu.Lock()
	m.pending[cycle] = append(m.pending[cycle], invoiceID)
	start := !m.flushing
	m.flushing = true
	m.mu.Unlock()
	if start {
		go s.flushMarks()
	}
}

// flushMarks writes the queued marks until none is left.
func (s *Service) flushMarks() {
	m := s.marks
	for {
		m.mu.Lock()
		if len(m.pending) == 0 {
			m.flushing = false
			m.mu.Unlock()
			return
		}
		batch := m.pending
		m.pending = map[int][]int64{}
		m.mu.Unlock()
		for cycle, ids := range batch {
			for chunk := range slices.Chunk(ids, markBatch) {
				s.markStarted(context.Background(), cycle, chunk...)
			}
		}
	}
}

// markStarted records on the rows that the journey of cycle runs, for this
// cycle only (a reopening meanwhile asks for the next one).
func (s *Service) markStarted(ctx context.Context, cycle int, invoiceIDs ...int64) {
	mark := s.db.WithContext(ctx).Model(&models.Invoice{}).
		Where("id IN ? AND journey_cycle <= ?", invoiceIDs, cycle).
		Updates(map[string]any{"journey_started": true, "journey_cycle": cycle})
	if mark.Error != nil {
		// The reconciler will find the rows and get AlreadyStarted: harmless.
		s.log.Warn("journeys started but not marked on their invoices", "invoice_ids", invoiceIDs, "error", mark.Error)
	}
}
