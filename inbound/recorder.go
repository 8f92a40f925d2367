package inbound

import (
	"time"

	"gorm.io/gorm"
)

// Recorder applies provider events to the database. Its methods are safe for
// concurrent use.
type Recorder struct {
	db    *gorm.DB
	clock func() time.Time
}

// NewRecorder returns a Recorder over db; now is the clock (nil: time.Now).
func NewRecorder(db *gorm.DB, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{db: db, clock: now}
}
