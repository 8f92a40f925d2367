package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// NewPortalToken returns the random part of a new customer's portal link:
// 16 random bytes, hex-encoded, so links cannot be guessed.
func NewPortalToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MobileOf is the E.164 mobile number of phone read in country, or "" when
// phone is not a mobile number: SMS is only ever sent to Mobile (docs/domain.md §1.2).
func MobileOf(phone, country string) string {
	m, err := policy.NormalizeMobile(phone, country)
	if err != nil {
		return ""
	}
	return m
}

// signalConcurrency bounds the signals one call sends at once, so that a
// customer with many invoices does not flood the Temporal frontend.
const signalConcurrency = 8

// SignalAll sends one signal to each journey in workflowIDs, a few at a time.
// Journeys that already ended are skipped (they have nothing left to steer);
// it returns how many journeys received the signal and every other failure.
func (s *Service) SignalAll(ctx context.Context, workflowIDs []string, name string, payload any) (int, error) {
	var (
		mu   sync.Mutex
		n    int
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, signalConcurrency)
	for _, id := range workflowIDs {
		if id == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(id string) {
			defer func() { <-sem; wg.Done() }()
			err := s.Signal(ctx, id, name, payload)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				n++
			case errors.Is(err, domain.ErrJourneyEnded):
			default:
				errs = append(errs, err)
			}
		}(id)
	}
	wg.Wait()
	if len(errs) > 0 {
		return n, fmt.Errorf("%w: %w", domain.ErrNotSignalled, errors.Join(errs...))
	}
	return n, nil
}

// OpenJourneys lists the workflow IDs of a customer's open invoices: the
// journeys a customer-wide action (pause, resume, journey change) steers.
func (s *Service) OpenJourneys(ctx context.Context, customerID int64) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&models.Invoice{}).
		Where("customer_id = ? AND status = ? AND workflow_id <> ''", customerID, models.InvoiceOpen).
		Order("id").Pluck("workflow_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("list open invoices of customer %d: %w", customerID, err)
	}
	return ids, nil
}

// PauseCustomer pauses a customer and every open invoice of it, until a date
// or until resumed (docs/domain.md §1.4): the rows say so for lists and filters,
// and each running journey gets the pause signal. It is idempotent, so a
// call that failed to reach Temporal can simply be repeated.
func (s *Service) PauseCustomer(ctx context.Context, cust *models.Customer, until *time.Time, reason string) (int, error) {
	now := s.Now()
	if until != nil && !until.After(now) {
		return 0, domain.RuleBroken("until", "%s is in the past", until.UTC().Format(time.RFC3339))
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"paused_at": now, "paused_until": until, "pause_reason": reason}
		if err := tx.Model(&models.Customer{}).Where("id = ?", cust.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("pause customer %d: %w", cust.ID, err)
		}
		if err := tx.Model(&models.Invoice{}).Where("customer_id = ? AND status = ?", cust.ID, models.InvoiceOpen).Updates(upd).Error; err != nil {
			return fmt.Errorf("pause open invoices of customer %d: %w", cust.ID, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	cust.PausedAt, cust.PausedUntil, cust.PauseReason = &now, until, reason
	ids, err := s.OpenJourneys(ctx, cust.ID)
	if err != nil {
		return 0, err
	}
	return s.SignalAll(ctx, ids, workflows.SignalPause, workflows.PauseSignal{Until: until, Reason: reason})
}

// ResumeCustomer ends the pause of a customer and of its open invoices, and
// resumes each running journey. Disputed invoices stay held by their dispute.
func (s *Service) ResumeCustomer(ctx context.Context, cust *models.Customer, reason string) (int, error) {
	var held int64
	if err := s.db.WithContext(ctx).Model(&models.Invoice{}).
		Where("customer_id = ? AND status = ? AND paused_at IS NOT NULL", cust.ID, models.InvoiceOpen).Count(&held).Error; err != nil {
		return 0, storeErr(err, "count paused invoices of customer %d", cust.ID)
	}
	if cust.PausedAt == nil && held == 0 {
		return 0, conflict("customer %d is not paused, nor any of its open invoices", cust.ID)
	}
	var ids []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.Invoice{}).
			Where("customer_id = ? AND status = ? AND paused_at IS NOT NULL AND workflow_id <> ''", cust.ID, models.InvoiceOpen).
			Order("id").Pluck("workflow_id", &ids).Error; err != nil {
			return fmt.Errorf("list paused invoices of customer %d: %w", cust.ID, err)
		}
		upd := map[string]any{"paused_at": nil, "paused_until": nil, "pause_reason": ""}
		if err := tx.Model(&models.Customer{}).Where("id = ?", cust.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("resume customer %d: %w", cust.ID, err)
		}
		if err := tx.Model(&models.Invoice{}).Where("customer_id = ? AND status = ?", cust.ID, models.InvoiceOpen).Updates(upd).Error; err != nil {
			return fmt.Errorf("resume open invoices of customer %d: %w", cust.ID, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	cust.PausedAt, cust.PausedUntil, cust.PauseReason = nil, nil, ""
	return s.SignalAll(ctx, ids, workflows.SignalResume, workflows.ResumeSignal{Reason: reason})
}

// AssignJourney gives the customer its own journey (nil: back to the
// administration's default) and tells each running journey of the customer,
// which re-plans its future steps (docs/domain.md §1.4). A journey of another
// administration breaks a rule.
func (s *Service) AssignJourney(ctx context.Context, adm *models.Administration, cust *models.Customer, journeyID *int64) (int, error) {
	if journeyID != nil {
		if err := s.journeyOfAdministration(ctx, adm.ID, *journeyID); err != nil {
			return 0, err
		}
	}
	if err := s.db.WithContext(ctx).Model(&models.Customer{}).Where("id = ?", cust.ID).Update("journey_id", journeyID).Error; err != nil {
		return 0, fmt.Errorf("assign journey to customer %d: %w", cust.ID, err)
	}
	cust.JourneyID = journeyID
	ids, err := s.OpenJourneys(ctx, cust.ID)
	if err != nil {
		return 0, err
	}
	return s.SignalAll(ctx, ids, workflows.SignalJourneyChanged, workflows.JourneyChangedSignal{JourneyID: cust.EffectiveJourneyID(adm)})
}

// AcceptProvidedEmail makes the address the customer gave in the portal its
// email (seed 001). The update is conditional on the provided email still
// being the one the caller saw, so two admins cannot accept different ones.
func (s *Service) AcceptProvidedEmail(ctx context.Context, cust *models.Customer) error {
	if cust.ProvidedEmail == "" {
		return domain.ErrNoProvidedEmail
	}
	res := s.db.WithContext(ctx).Model(&models.Customer{}).
		Where("id = ? AND provided_email = ?", cust.ID, cust.ProvidedEmail).
		Updates(map[string]any{"email": cust.ProvidedEmail, "provided_email": "", "provided_email_at": nil})
	if res.Error != nil {
		return fmt.Errorf("accept provided email of customer %d: %w", cust.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.ErrNoProvidedEmail
	}
	cust.Email, cust.ProvidedEmail, cust.ProvidedEmailAt = cust.ProvidedEmail, "", nil
	return nil
}

// SubmitProvidedEmail records an address the customer gave (through the
// portal, or to an admin who types it in) as the customer's provided email,
// to be verified (seed 001), and tells the customer's running journeys
// (signal email-submitted). Channel choice keeps using the verified email
// unless the administration's use_provided_email is on. An address equal to
// the verified email changes nothing: there is nothing to verify. It returns
// the number of journeys told; a failure to tell them wraps ErrNotSignalled
// (the address is stored; repeating the call tells them).
func (s *Service) SubmitProvidedEmail(ctx context.Context, cust *models.Customer, email string) (int, error) {
	if sameEmail(email, cust.Email) {
		return 0, nil
	}
	at := s.Now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.Customer{}).Where("id = ?", cust.ID).
			Updates(map[string]any{"provided_email": email, "provided_email_at": at}).Error; err != nil {
			return err
		}
		// Each open invoice's timeline shows the submission.
		var open []int64
		if err := tx.Model(&models.Invoice{}).Where("customer_id = ? AND status = ?", cust.ID, models.InvoiceOpen).
			Order("id").Pluck("id", &open).Error; err != nil {
			return err
		}
		events := make([]models.InvoiceEvent, len(open))
		for i, id := range open {
			events[i] = models.InvoiceEvent{AdministrationID: cust.AdministrationID, InvoiceID: id,
				Kind: models.EventEmailSubmitted, Detail: email, At: at}
		}
		if len(events) == 0 {
			return nil
		}
		return tx.Create(&events).Error
	})
	if err != nil {
		return 0, fmt.Errorf("record provided email of customer %d: %w", cust.ID, err)
	}
	cust.ProvidedEmail, cust.ProvidedEmailAt = email, &at
	ids, err := s.OpenJourneys(ctx, cust.ID)
	if err != nil {
		return 0, err
	}
	return s.SignalAll(ctx, ids, workflows.SignalEmailSubmitted, workflows.EmailSubmittedSignal{Email: email})
}

// DismissProvidedEmail drops the address the customer gave in the portal.
func (s *Service) DismissProvidedEmail(ctx context.Context, cust *models.Customer) error {
	if cust.ProvidedEmail == "" {
		return domain.ErrNoProvidedEmail
	}
	res := s.db.WithContext(ctx).Model(&models.Customer{}).
		Where("id = ? AND provided_email = ?", cust.ID, cust.ProvidedEmail).
		Updates(map[string]any{"provided_email": "", "provided_email_at": nil})
	if res.Error != nil {
		return fmt.Errorf("dismiss provided email of customer %d: %w", cust.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.ErrNoProvidedEmail
	}
	cust.ProvidedEmail, cust.ProvidedEmailAt = "", nil
	return nil
}

// sameEmail compares addresses as mail servers do in practice: case-insensitively.
func sameEmail(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// ContactMobile reads a phone number an admin typed for a customer in
// country: it returns the E.164 mobile number, "" for a valid number that is
// not a mobile (a landline cannot get SMS) or an empty phone, and
// ErrInvalidPhone when the text is not a phone number there, so that a typo
// is refused instead of silently turning SMS off.
func ContactMobile(phone, country string) (string, error) {
	if strings.TrimSpace(phone) == "" {
		return "", nil
	}
	m, err := policy.NormalizeMobile(phone, country)
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, policy.ErrMobileInvalid):
		return "", fmt.Errorf("%w: %q in country %s", domain.ErrInvalidPhone, phone, country)
	}
	return "", nil
}

// customersQuery is the query of an administration's customers matching f,
// unordered and unpaginated: the caller pages it by ID.
func customersQuery(db *gorm.DB, administrationID int64, f domain.CustomerFilter) *gorm.DB {
	q := db.Model(&models.Customer{}).Where("customers.administration_id = ?", administrationID)
	if s := strings.TrimSpace(f.Query); s != "" {
		like := "%" + escapeLike(strings.ToLower(s)) + "%"
		q = q.Where(`(LOWER(customers.name) LIKE ? ESCAPE '\' OR LOWER(customers.external_ref) LIKE ? ESCAPE '\' OR LOWER(customers.email) LIKE ? ESCAPE '\')`, like, like, like)
	}
	if f.ProvidedEmail {
		q = q.Where("customers.provided_email <> ''")
	}
	q = whereIf(q, f.Paused, "(customers.paused_at IS NOT NULL AND (customers.paused_until IS NULL OR customers.paused_until > ?))", f.Now)
	q = whereIf(q, f.OpenInvoices, "EXISTS (SELECT 1 FROM invoices WHERE invoices.customer_id = customers.id AND invoices.status = ? AND invoices.open_minor > 0)", models.InvoiceOpen)
	return q
}

// whereIf applies a yes/no list filter: nil leaves q alone, true keeps the
// rows where cond holds, false the rows where it does not.
func whereIf(q *gorm.DB, want *bool, cond string, args ...any) *gorm.DB {
	switch {
	case want == nil:
		return q
	case *want:
		return q.Where(cond, args...)
	}
	return q.Where("NOT "+cond, args...)
}

// OpenInvoiceCounts counts the open invoices of each of the customers.
func (s *Service) OpenInvoiceCounts(ctx context.Context, customerIDs []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(customerIDs))
	if len(customerIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		CustomerID int64
		N          int
	}
	if err := s.db.WithContext(ctx).Model(&models.Invoice{}).Select("customer_id, COUNT(*) AS n").
		Where("customer_id IN ? AND status = ? AND open_minor > 0", customerIDs, models.InvoiceOpen).
		Group("customer_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count open invoices: %w", err)
	}
	for _, r := range rows {
		out[r.CustomerID] = r.N
	}
	return out, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
