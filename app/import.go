package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/importer"
	"github.com/relance/relance/metrics"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// Import applies a parsed file to an administration (docs/domain.md §1.3, §1.4):
// it upserts customers by reference and invoices by number, starts the
// journeys of new open invoices, tells running journeys about changed
// amounts, and, for a full snapshot, closes the open invoices the file no
// longer lists. Each row is applied in its own transaction, so a row is never
// half-written and a rejected row never stops the others. Importing the same
// file again changes nothing and starts nothing, also when two imports of it
// run at once: inserts go through the unique indexes (ON CONFLICT DO NOTHING,
// then the winner's row is read back) and updates re-read the row under a
// lock. A database or Temporal failure aborts the import with an error naming
// the line; the rows applied before it stay, and importing the file again
// completes the work.
func (s *Service) Import(ctx context.Context, adm *models.Administration, parsed importer.Result, opt domain.ImportOptions) (domain.ImportReport, error) {
	if !opt.DryRun {
		return s.doImport(ctx, adm, parsed, opt)
	}
	// A dry run applies the file inside one transaction and rolls it back:
	// the report comes from the same code as a real import, and nothing
	// stays (each row's transaction is a savepoint inside it). The copy of
	// the service it runs on has no Temporal client: nothing is started.
	var rep domain.ImportReport
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		dry := *s
		dry.db, dry.temporal = tx, nil
		var err error
		if rep, err = dry.doImport(ctx, adm, parsed, opt); err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return rep, err
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run: rolled back")

func (s *Service) doImport(ctx context.Context, adm *models.Administration, parsed importer.Result, opt domain.ImportOptions) (domain.ImportReport, error) {
	started := time.Now()
	r := &importRun{
		ctx: ctx, db: s.db.WithContext(ctx), svc: s, adm: adm, opt: opt,
		log:       opt.Logger,
		customers: map[string]*models.Customer{},
		invoices:  map[string]*models.Invoice{},
		hadOpen:   map[int64]bool{},
		contacts:  map[int64][]models.Contact{},
		paid:      map[int64]bool{},
		custSeen:  map[string]bool{},
		total:     len(parsed.Rows),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("administration_id", adm.ID)
	r.rep = domain.ImportReport{
		Format: opt.Format, FileSHA256: opt.FileSHA256, FullSnapshot: opt.FullSnapshot, Rows: parsed.Total,
		Rejected: []domain.ImportRowError{}, Skipped: []domain.ImportSkippedCustomer{}, DryRun: opt.DryRun,
		Warnings: []domain.ImportRowError{}, Ignored: parsed.Ignored, Columns: parsed.Columns,
		Lines: make([]domain.ImportLine, 0, parsed.Total),
	}
	if r.rep.Ignored == nil {
		r.rep.Ignored = []importer.IgnoredColumn{}
	}
	if r.rep.Columns == nil {
		r.rep.Columns = []importer.ColumnUse{}
	}
	lines := map[int]bool{}
	for _, e := range parsed.Rejected {
		r.rep.Rejected = append(r.rep.Rejected, domain.ImportRowError{Line: e.Line, Field: e.Field, Value: e.Value, Reason: e.Reason})
		if !lines[e.Line] {
			lines[e.Line] = true
			r.rep.Lines = append(r.rep.Lines, domain.ImportLine{Line: e.Line, Outcome: domain.LineRejected, Note: e.Error()})
		}
	}
	for _, w := range parsed.Warnings {
		r.rep.Warnings = append(r.rep.Warnings, domain.ImportRowError{Line: w.Line, Field: w.Field, Value: w.Value, Reason: w.Reason})
	}
	r.rep.Invoices.Rejected = len(lines)

	if err := r.preload(parsed.Rows); err != nil {
		return r.rep, err
	}
	var absent []models.Invoice
	if opt.FullSnapshot {
		if len(parsed.Rejected) > 0 {
			r.rep.Notes = append(r.rep.Notes, "full snapshot not applied: rejected rows may be open invoices, so no absent invoice was marked paid; fix the rejected rows and import the file again")
		} else {
			var err error
			if absent, err = r.absentInvoices(parsed.Rows); err != nil {
				return r.rep, err
			}
		}
	}

	n := opt.Concurrency
	if n <= 0 {
		n = domain.DefaultImportConcurrency
	}
	r.tasks = make(chan importTask, 4*n)
	for range n {
		r.wg.Go(r.work)
	}
	var rowErr error
	for _, row := range parsed.Rows {
		if r.stopped.Load() || ctx.Err() != nil {
			break
		}
		task, err := r.applyRow(row)
		if err != nil {
			rowErr = err
			break
		}
		if task == nil {
			r.rowDone()
			continue
		}
		r.tasks <- *task
	}
	if rowErr == nil && !r.stopped.Load() && ctx.Err() == nil {
		for _, inv := range absent {
			task, err := r.closeAbsent(inv)
			if err != nil {
				rowErr = err
				break
			}
			if task != nil {
				r.tasks <- *task
			}
		}
	}
	close(r.tasks)
	r.wg.Wait()
	slices.SortStableFunc(r.rep.Lines, func(a, b domain.ImportLine) int { return a.Line - b.Line })
	if err := errors.Join(rowErr, r.taskErr, ctx.Err()); err != nil {
		r.log.Error("import aborted", "error", err)
		return r.rep, fmt.Errorf("import into administration %d: %w", adm.ID, err)
	}
	if opt.DryRun {
		r.log.Info("import dry run", "rows", parsed.Total, "customers", r.rep.Customers, "invoices", r.rep.Invoices,
			"journeys_to_start", r.rep.JourneysToStart, "duration_ms", time.Since(started).Milliseconds())
		return r.rep, nil
	}

	body, err := json.Marshal(r.rep)
	if err != nil {
		return r.rep, fmt.Errorf("encode import report: %w", err)
	}
	run := models.ImportRun{AdministrationID: adm.ID, FileSHA256: opt.FileSHA256, Format: opt.Format, FullSnapshot: opt.FullSnapshot, Report: string(body)}
	if err := r.db.Create(&run).Error; err != nil {
		return r.rep, fmt.Errorf("record import run of administration %d: %w", adm.ID, err)
	}
	r.rep.ImportID = run.ID
	metrics.ImportRows("invoice_created", r.rep.Invoices.Created)
	metrics.ImportRows("invoice_updated", r.rep.Invoices.Updated)
	metrics.ImportRows("invoice_unchanged", r.rep.Invoices.Unchanged)
	metrics.ImportRows("rejected", r.rep.Invoices.Rejected)
	metrics.ImportRows("closed_absent", r.rep.Invoices.ClosedAbsent)
	r.log.Info("import finished", "import_id", run.ID, "rows", parsed.Total,
		"customers", r.rep.Customers, "invoices", r.rep.Invoices, "journeys_started", r.rep.JourneysStarted,
		"duration_ms", time.Since(started).Milliseconds())
	return r.rep, nil
}

// importRun is the state of one Import call.
type importRun struct {
	ctx context.Context
	db  *gorm.DB
	svc *Service
	adm *models.Administration
	opt domain.ImportOptions
	log *slog.Logger

	// Owned by the goroutine that applies rows.
	customers map[string]*models.Customer // by reference, as stored
	invoices  map[string]*models.Invoice  // by number, as stored
	hadOpen   map[int64]bool              // customers with an open invoice before the import
	contacts  map[int64][]models.Contact  // the contact persons of the customers the file names
	paid      map[int64]bool              // invoices with a payment recorded in Relance
	custSeen  map[string]bool             // references already counted

	tasks   chan importTask
	wg      sync.WaitGroup
	stopped atomic.Bool

	mu      sync.Mutex // guards what follows, written by the workers too
	rep     domain.ImportReport
	taskErr error
	done    int
	total   int
}

// importTask is the Temporal work of one row, done after its commit: a
// journey start or signals.
type importTask struct {
	line int
	run  func(ctx context.Context) error
}

func (r *importRun) work() {
	for t := range r.tasks {
		err := t.run(r.ctx)
		if err != nil {
			r.mu.Lock()
			if r.taskErr == nil {
				r.taskErr = fmt.Errorf("line %d: %w", t.line, err)
			}
			r.mu.Unlock()
			r.stopped.Store(true)
		}
		if t.line > 0 {
			r.rowDone()
		}
	}
}

func (r *importRun) rowDone() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if r.opt.Progress != nil {
		r.opt.Progress(r.done, r.total)
	}
}

// chunk is how many keys go in one IN (...) list: well under the parameter
// limits of PostgreSQL and SQLite.
const chunk = 500

// preload reads, in a few queries, every customer and invoice the file
// names and which customers have an open invoice, so that unchanged rows
// cost no query at all.
func (r *importRun) preload(rows []importer.Row) error {
	refSet, numSet := map[string]bool{}, map[string]bool{}
	var refs, nums []string
	for _, row := range rows {
		if !refSet[row.Customer.Ref] {
			refSet[row.Customer.Ref] = true
			refs = append(refs, row.Customer.Ref)
		}
		if !numSet[row.Invoice.Number] {
			numSet[row.Invoice.Number] = true
			nums = append(nums, row.Invoice.Number)
		}
	}
	var ids []int64
	for i := 0; i < len(refs); i += chunk {
		var cs []models.Customer
		if err := r.db.Where("administration_id = ? AND external_ref IN ?", r.adm.ID, refs[i:min(i+chunk, len(refs))]).Find(&cs).Error; err != nil {
			return fmt.Errorf("load customers of administration %d: %w", r.adm.ID, err)
		}
		for k := range cs {
			r.customers[cs[k].ExternalRef] = &cs[k]
			ids = append(ids, cs[k].ID)
		}
	}
	for i := 0; i < len(ids); i += chunk {
		var open []int64
		if err := r.db.Model(&models.Invoice{}).Distinct("customer_id").
			Where("administration_id = ? AND status = ? AND open_minor > 0 AND customer_id IN ?", r.adm.ID, models.InvoiceOpen, ids[i:min(i+chunk, len(ids))]).
			Pluck("customer_id", &open).Error; err != nil {
			return fmt.Errorf("find customers with open invoices in administration %d: %w", r.adm.ID, err)
		}
		for _, id := range open {
			r.hadOpen[id] = true
		}
		var cs []models.Contact
		if err := r.db.Where("customer_id IN ?", ids[i:min(i+chunk, len(ids))]).Order("id").Find(&cs).Error; err != nil {
			return fmt.Errorf("load contacts of administration %d: %w", r.adm.ID, err)
		}
		for _, c := range cs {
			r.contacts[c.CustomerID] = append(r.contacts[c.CustomerID], c)
		}
	}
	for i := 0; i < len(nums); i += chunk {
		var is []models.Invoice
		if err := r.db.Where("administration_id = ? AND number IN ?", r.adm.ID, nums[i:min(i+chunk, len(nums))]).Find(&is).Error; err != nil {
			return fmt.Errorf("load invoices of administration %d: %w", r.adm.ID, err)
		}
		ids := make([]int64, len(is))
		for k := range is {
			r.invoices[is[k].Number] = &is[k]
			ids[k] = is[k].ID
		}
		var paid []int64
		if err := r.db.Model(&models.Payment{}).Distinct("invoice_id").Where("invoice_id IN ?", ids).Pluck("invoice_id", &paid).Error; err != nil {
			return fmt.Errorf("find invoices with payments in administration %d: %w", r.adm.ID, err)
		}
		for _, id := range paid {
			r.paid[id] = true
		}
	}
	return nil
}

// absentInvoices are the administration's open invoices, as they were before
// the import, that the file does not list.
func (r *importRun) absentInvoices(rows []importer.Row) ([]models.Invoice, error) {
	inFile := make(map[string]bool, len(rows))
	for _, row := range rows {
		inFile[row.Invoice.Number] = true
	}
	var open []models.Invoice
	if err := r.db.Select("id", "number", "workflow_id", "customer_id", "open_minor").
		Where("administration_id = ? AND status = ?", r.adm.ID, models.InvoiceOpen).Order("id").Find(&open).Error; err != nil {
		return nil, fmt.Errorf("list open invoices of administration %d: %w", r.adm.ID, err)
	}
	out := open[:0]
	for _, inv := range open {
		if !inFile[inv.Number] {
			out = append(out, inv)
		}
	}
	return out, nil
}

// customerOutcome is what a row did to its customer.
type customerOutcome int

const (
	custNone customerOutcome = iota // already counted on an earlier row
	custCreated
	custUpdated
	custUnchanged
	custSkipped
)

// invoiceOutcome is what a row did to its invoice.
type invoiceOutcome int

const (
	invUnchanged invoiceOutcome = iota
	invCreated
	invUpdated
)

// rowResult is a row's transaction outcome, applied to the maps and the
// report only after the commit.
type rowResult struct {
	cust    *models.Customer
	custOut customerOutcome
	inv     *models.Invoice
	invOut  invoiceOutcome
	// kept is set when Relance's open amount won over the file's.
	kept bool
	// start is set when the invoice's journey must be started; prior is the
	// row as it was before, to undo the change when the start fails (nil:
	// the invoice is new and is deleted).
	start bool
	prior *models.Invoice
	// signals go to the invoice's journey, in order, after the commit.
	signals []pendingSignal
	// reopened: the import brought a paid or credited invoice open again;
	// if its journey ended, it gets one of the next cycle.
	reopened bool
}

type pendingSignal struct {
	name    string
	payload any
}

// applyRow applies one row: in memory when nothing changes, else in one
// transaction. It returns the Temporal work the row needs, if any.
func (r *importRun) applyRow(row importer.Row) (*importTask, error) {
	cr, ir := row.Customer, row.Invoice
	res := rowResult{cust: r.customers[cr.Ref], inv: r.invoices[ir.Number]}

	// What the customer needs, judged on the rows as preloaded.
	custWrite := false
	if !r.custSeen[cr.Ref] {
		switch {
		case res.cust == nil:
			custWrite = true
		default:
			changes := customerChanges(res.cust, cr, row.Given, true)
			contacts := contactChanges(res.cust.ID, r.contacts[res.cust.ID], cr, row.Given)
			switch {
			case len(changes) == 0 && len(contacts) == 0:
				res.custOut = custUnchanged
			case r.hadOpen[res.cust.ID] || (len(contacts) == 0 && onlyClearsProvided(changes)):
				custWrite = true
			default:
				res.custOut = custSkipped
			}
		}
	}
	invWrite := res.inv == nil
	if !invWrite {
		ch, kept := r.invoiceChanges(res.inv, ir, res.cust)
		invWrite, res.kept = len(ch) > 0, kept
	}

	if custWrite || invWrite {
		if err := r.db.Transaction(func(tx *gorm.DB) error {
			if custWrite {
				if err := r.writeCustomer(tx, cr, row.Given, &res); err != nil {
					return err
				}
			}
			if invWrite {
				return r.writeInvoice(tx, ir, &res)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("line %d (invoice %s, customer %s): %w", row.Line, ir.Number, cr.Ref, err)
		}
	}

	r.customers[cr.Ref] = res.cust
	r.invoices[ir.Number] = res.inv
	line := domain.ImportLine{Line: row.Line, InvoiceNumber: ir.Number, CustomerRef: cr.Ref}
	r.mu.Lock()
	if !r.custSeen[cr.Ref] {
		r.custSeen[cr.Ref] = true
		switch res.custOut {
		case custCreated:
			r.rep.Customers.Created++
			line.Customer = "created"
		case custUpdated:
			r.rep.Customers.Updated++
			line.Customer = "updated"
		case custUnchanged:
			r.rep.Customers.Unchanged++
			line.Customer = "unchanged"
		case custSkipped:
			r.rep.Customers.Skipped++
			line.Customer = "skipped"
			r.rep.Skipped = append(r.rep.Skipped, domain.ImportSkippedCustomer{Line: row.Line, CustomerRef: cr.Ref, Reason: domain.ReasonNoOpenInvoice})
		}
	}
	switch res.invOut {
	case invCreated:
		r.rep.Invoices.Created++
		line.Outcome = domain.LineCreated
	case invUpdated:
		r.rep.Invoices.Updated++
		line.Outcome = domain.LineUpdated
	default:
		r.rep.Invoices.Unchanged++
		line.Outcome = domain.LineUnchanged
	}
	if res.kept {
		r.rep.Invoices.KeptRelancePayment++
		if line.Outcome == domain.LineUnchanged {
			line.Outcome = domain.LineKeptPayment
		}
		line.Note = domain.NoteKeptPayment
	}
	if res.start && r.opt.DryRun {
		r.rep.JourneysToStart++
	}
	r.rep.Lines = append(r.rep.Lines, line)
	r.mu.Unlock()

	switch {
	case r.opt.DryRun:
		// Nothing leaves the transaction that will be rolled back.
	case res.start:
		return r.startTask(row.Line, res), nil
	case len(res.signals) > 0:
		return r.signalTask(row.Line, *res.inv, res.signals, res.reopened), nil
	}
	return nil, nil
}

// writeCustomer creates the customer, or updates it when it had an open
// invoice before the import, re-reading it under a lock so that two imports
// at once decide on the same row.
func (r *importRun) writeCustomer(tx *gorm.DB, cr importer.CustomerRow, given importer.FieldSet, res *rowResult) error {
	if res.cust == nil {
		c := newCustomer(r.adm.ID, cr)
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(c)
		if ins.Error != nil {
			return fmt.Errorf("create customer %s: %w", cr.Ref, ins.Error)
		}
		if ins.RowsAffected == 1 {
			res.cust, res.custOut = c, custCreated
			return r.writeContacts(tx, contactChanges(c.ID, nil, cr, given))
		}
		// Another import created it meanwhile: it had no open invoice when
		// this import started, so its data is only compared.
		var fresh models.Customer
		if err := tx.Where("administration_id = ? AND external_ref = ?", r.adm.ID, cr.Ref).First(&fresh).Error; err != nil {
			return fmt.Errorf("read back customer %s: %w", cr.Ref, err)
		}
		res.cust, res.custOut = &fresh, custUnchanged
		if ch := customerChanges(&fresh, cr, given, true); len(ch) > 0 && !onlyClearsProvided(ch) {
			res.custOut = custSkipped
		}
		return nil
	}
	var fresh models.Customer
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&fresh, res.cust.ID).Error; err != nil {
		return fmt.Errorf("lock customer %s: %w", cr.Ref, err)
	}
	changes := customerChanges(&fresh, cr, given, r.hadOpen[fresh.ID])
	var contacts []contactChange
	if r.hadOpen[fresh.ID] {
		// Read again under the customer's lock: another import (or the
		// API) may have changed them since the preload.
		var current []models.Contact
		if err := tx.Where("customer_id = ?", fresh.ID).Order("id").Find(&current).Error; err != nil {
			return fmt.Errorf("load contacts of customer %s: %w", cr.Ref, err)
		}
		contacts = contactChanges(fresh.ID, current, cr, given)
	}
	if len(changes) == 0 && len(contacts) == 0 {
		res.cust, res.custOut = &fresh, custUnchanged
		return nil
	}
	if len(changes) > 0 {
		if err := tx.Model(&models.Customer{}).Where("id = ?", fresh.ID).Updates(changes).Error; err != nil {
			return fmt.Errorf("update customer %s: %w", cr.Ref, err)
		}
	}
	if err := r.writeContacts(tx, contacts); err != nil {
		return err
	}
	setCustomer(&fresh, changes)
	res.cust, res.custOut = &fresh, custUpdated
	return nil
}

// contactChange is one contact person an import creates (create set) or
// updates (id and upd set).
type contactChange struct {
	create *models.Contact
	id     int64
	upd    map[string]any
}

// Import slots: which columns wrote a contact, so that the next import
// updates the same contact.
const (
	slotContact = "contact"
	slotCC      = "cc"
)

// contactChanges are the writes that make the customer's contacts show
// the file's contact person (contact_*) and copy (cc_email). An import
// only creates or updates the contacts it wrote itself (one per column
// set), never the admin's: an address one of the customer's contacts has
// already is not added again. A new contact receives every kind of email;
// roles and copy changed through the API stay. As everywhere in imports, an
// absent column or an empty cell changes nothing, and a malformed address
// (a warning) is not given.
func contactChanges(custID int64, existing []models.Contact, cr importer.CustomerRow, given importer.FieldSet) []contactChange {
	var out []contactChange
	count := len(existing)
	taken := func(email string, except int64) bool {
		for _, c := range existing {
			if c.ID != except && strings.EqualFold(c.Email, email) {
				return true
			}
		}
		return false
	}
	for _, s := range []struct {
		slot, email, name, phone string
		cc                       bool
	}{
		{slotContact, importedField(given, "contact_email", cr.ContactEmail), importedField(given, "contact_name", cr.ContactName),
			importedField(given, "contact_phone", cr.ContactPhone), false},
		{slotCC, importedField(given, "cc_email", cr.CCEmail), "", "", true},
	} {
		if s.email == "" {
			continue
		}
		var mine *models.Contact
		for i := range existing {
			if existing[i].Source == "import" && existing[i].ImportSlot == s.slot {
				mine = &existing[i]
			}
		}
		if mine == nil {
			if taken(s.email, 0) || count >= models.MaxContacts {
				continue
			}
			count++
			out = append(out, contactChange{create: &models.Contact{CustomerID: custID, Name: s.name, Email: s.email, Phone: s.phone,
				Roles: models.ContactRoles{policy.RoleBilling, policy.RoleReminders, policy.RoleCollection}, CC: s.cc,
				Source: "import", ImportSlot: s.slot}})
			continue
		}
		upd := map[string]any{}
		if !strings.EqualFold(mine.Email, s.email) && !taken(s.email, mine.ID) {
			upd["email"], upd["bounced_email"] = s.email, ""
		}
		if s.name != "" && s.name != mine.Name {
			upd["name"] = s.name
		}
		if s.phone != "" && s.phone != mine.Phone {
			upd["phone"] = s.phone
		}
		if len(upd) > 0 {
			out = append(out, contactChange{id: mine.ID, upd: upd})
		}
	}
	return out
}

// importedField is a contact column's value when the file gives it.
func importedField(given importer.FieldSet, field, v string) string {
	if !given.Has(field) {
		return ""
	}
	return strings.TrimSpace(v)
}

// writeContacts applies contactChanges.
func (r *importRun) writeContacts(tx *gorm.DB, changes []contactChange) error {
	for _, ch := range changes {
		if ch.create != nil {
			if err := tx.Create(ch.create).Error; err != nil {
				return fmt.Errorf("create contact of customer %d: %w", ch.create.CustomerID, err)
			}
			continue
		}
		if err := tx.Model(&models.Contact{}).Where("id = ?", ch.id).Updates(ch.upd).Error; err != nil {
			return fmt.Errorf("update contact %d: %w", ch.id, err)
		}
	}
	return nil
}

// newCustomer is a customer as an import creates it: every channel on, a
// fresh portal token, the mobile number parsed in its country.
func newCustomer(admID int64, cr importer.CustomerRow) *models.Customer {
	return &models.Customer{
		AdministrationID: admID, ExternalRef: cr.Ref, Name: cr.Name, LegalID: cr.LegalID, Language: cr.Language, Type: customerTypeOf(cr.Type),
		Email: cr.Email, Phone: cr.Phone, Mobile: MobileOf(cr.Phone, cr.Country),
		AddressLine1: cr.AddressLine1, AddressLine2: cr.AddressLine2, PostalCode: cr.PostalCode, City: cr.City, Country: cr.Country,
		CustomerSendSettings: models.DefaultCustomerSendSettings(),
		PortalToken:          NewPortalToken(),
	}
}

// customerChanges returns the columns to write so the stored customer
// matches the file (when update is true), plus the clearing of a provided
// email that the file now brings as the email (seed 001). Only the fields
// the file gives are compared: a column absent from the file never
// overwrites (an export without a language column keeps the languages set
// through the API), and language and country count as given only when the
// cell is filled (an empty one would mean the administration's default).
// An empty email or phone in the file does not erase a stored one either:
// accounting exports often lack them, and the admin may have accepted an
// address the customer gave in the portal; an invalid email is not given.
func customerChanges(c *models.Customer, cr importer.CustomerRow, given importer.FieldSet, update bool) map[string]any {
	ch := map[string]any{}
	if update {
		set := func(col, stored, file string) {
			field := col
			if col == "name" {
				field = "customer_name"
			}
			if stored != file && given.Has(field) {
				ch[col] = file
			}
		}
		set("name", c.Name, cr.Name)
		set("legal_id", c.LegalID, cr.LegalID)
		if cr.Type != "" {
			set("customer_type", string(c.Type), cr.Type)
		}
		if cr.Language != "" {
			set("language", c.Language, cr.Language)
		}
		if cr.Email != "" {
			set("email", c.Email, cr.Email)
		}
		if cr.Phone != "" {
			set("phone", c.Phone, cr.Phone)
		}
		set("address_line1", c.AddressLine1, cr.AddressLine1)
		set("address_line2", c.AddressLine2, cr.AddressLine2)
		set("postal_code", c.PostalCode, cr.PostalCode)
		set("city", c.City, cr.City)
		set("country", c.Country, cr.Country)
		phone, country := c.Phone, c.Country
		if v, ok := ch["phone"]; ok {
			phone = v.(string)
		}
		if v, ok := ch["country"]; ok {
			country = v.(string)
		}
		if m := MobileOf(phone, country); m != c.Mobile {
			ch["mobile"] = m
		}
	}
	// The provided email leaves "to verify" once it is the email: brought by
	// this file (when the update applies), or already stored.
	email := c.Email
	if v, ok := ch["email"]; ok {
		email = v.(string)
	}
	if c.ProvidedEmail != "" && cr.Email != "" && sameEmail(cr.Email, c.ProvidedEmail) && sameEmail(email, c.ProvidedEmail) {
		ch["provided_email"] = ""
		ch["provided_email_at"] = nil
	}
	return ch
}

// onlyClearsProvided reports changes that only take a verified address out
// of "to verify": harmless for a customer without open invoices.
func onlyClearsProvided(ch map[string]any) bool {
	_, ok := ch["provided_email"]
	return ok && len(ch) == 2
}

// fileStatus is the status an invoice has according to the file.
func fileStatus(ir importer.InvoiceRow) models.InvoiceStatus {
	if ir.OpenMinor == 0 {
		return models.InvoicePaid
	}
	return models.InvoiceOpen
}

// invoiceChanges returns the columns to write so the stored invoice matches
// the file, and whether Relance's open amount was kept against the file's.
// A closed invoice (paid or credited) the file still shows as closed keeps
// its status: a credit note recorded in Relance stays credited.
//
// A payment (or credit) recorded in Relance wins over a file that is not
// newer: when Relance has a payment on the invoice or credited it, and the
// file shows it more open than Relance does, the file's open amount is
// taken only if its amount or open amount differ from what the previous
// import brought (the accounting software has moved since, e.g. a payment
// was reversed or a credit note booked). An export that still shows the
// state of the previous import has simply not caught up with the payment.
// An invoice never imported before (created through the API, or imported
// before Relance kept this record) has no previous import: Relance wins.
// The columns imported_* that keep the file's amounts are written whenever
// they differ; they alone do not make the invoice "updated".
//
// The file's customer wins: an invoice its row now books on another
// customer (a correction in the accounting software) moves to that
// customer (cust; nil when the customer is still to be created), so that
// its next messages, and its customer's bundle, are the new customer's.
func (r *importRun) invoiceChanges(inv *models.Invoice, ir importer.InvoiceRow, cust *models.Customer) (map[string]any, bool) {
	ch := map[string]any{}
	switch {
	case cust == nil:
		ch["customer_id"] = int64(0) // set to the new customer's ID once it exists
	case inv.CustomerID != cust.ID:
		ch["customer_id"] = cust.ID
	}
	if inv.ImportedAmountMinor == nil || *inv.ImportedAmountMinor != ir.AmountMinor {
		ch["imported_amount_minor"] = ir.AmountMinor
	}
	if inv.ImportedOpenMinor == nil || *inv.ImportedOpenMinor != ir.OpenMinor {
		ch["imported_open_minor"] = ir.OpenMinor
	}
	_, amountMoved := ch["imported_amount_minor"]
	_, openMoved := ch["imported_open_minor"]
	newer := inv.ImportedOpenMinor != nil && (amountMoved || openMoved)
	lowered := r.paid[inv.ID] || inv.Status == models.InvoiceCredited
	if lowered && ir.OpenMinor > inv.OpenMinor && !newer {
		// Relance's amounts and status stand (the file's amount is the one
		// the previous import brought); its dates still apply.
		r.otherInvoiceChanges(inv, ir, ch)
		return ch, true
	}
	if inv.AmountMinor != ir.AmountMinor {
		ch["amount_minor"] = ir.AmountMinor
	}
	if inv.OpenMinor != ir.OpenMinor {
		ch["open_minor"] = ir.OpenMinor
	}
	r.otherInvoiceChanges(inv, ir, ch)
	want := fileStatus(ir)
	closed := inv.Status != models.InvoiceOpen
	switch {
	case want == models.InvoiceOpen && closed:
		ch["status"], ch["stage"] = models.InvoiceOpen, string(workflows.StageScheduled)
	case want == models.InvoicePaid && !closed:
		ch["status"], ch["stage"] = models.InvoicePaid, string(workflows.StagePaid)
	}
	return ch, false
}

// otherInvoiceChanges adds the changes of the columns other than the
// amounts and the status.
func (r *importRun) otherInvoiceChanges(inv *models.Invoice, ir importer.InvoiceRow, ch map[string]any) {
	if inv.Currency != ir.Currency {
		ch["currency"] = ir.Currency
	}
	if !inv.IssueDate.Equal(ir.IssueDate) {
		ch["issue_date"] = ir.IssueDate
	}
	if !inv.DueDate.Equal(ir.DueDate) {
		ch["due_date"] = ir.DueDate
	}
}

// bookkeeping reports changes that only record what the file said.
func bookkeeping(ch map[string]any) bool {
	for col := range ch {
		if col != "imported_amount_minor" && col != "imported_open_minor" {
			return false
		}
	}
	return true
}

// writeInvoice creates the invoice, or updates it after re-reading it under
// a lock, and decides the Temporal work that follows the commit.
func (r *importRun) writeInvoice(tx *gorm.DB, ir importer.InvoiceRow, res *rowResult) error {
	var fresh models.Invoice
	if res.inv == nil {
		inv := &models.Invoice{
			AdministrationID: r.adm.ID, CustomerID: res.cust.ID, Number: ir.Number,
			IssueDate: ir.IssueDate, DueDate: ir.DueDate, Currency: ir.Currency,
			AmountMinor: ir.AmountMinor, OpenMinor: ir.OpenMinor,
			Status: models.InvoiceOpen, Stage: string(workflows.StageScheduled),
			ImportedAmountMinor: &ir.AmountMinor, ImportedOpenMinor: &ir.OpenMinor,
		}
		if ir.OpenMinor == 0 {
			// Paid before Relance saw it: stored for the customer's
			// history, no journey.
			inv.Status, inv.Stage = models.InvoicePaid, string(workflows.StagePaid)
		} else {
			inv.WorkflowID = workflows.InvoiceWorkflowID(r.adm.ID, ir.Number)
			inv.JourneyCycle = 1
		}
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(inv)
		if ins.Error != nil {
			return fmt.Errorf("create invoice %s: %w", ir.Number, ins.Error)
		}
		if ins.RowsAffected == 1 {
			res.inv, res.invOut, res.start = inv, invCreated, inv.Status == models.InvoiceOpen
			return nil
		}
		// Another import created it meanwhile: from here on it is an
		// existing invoice.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("administration_id = ? AND number = ?", r.adm.ID, ir.Number).First(&fresh).Error; err != nil {
			return fmt.Errorf("read back invoice %s: %w", ir.Number, err)
		}
	} else if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&fresh, res.inv.ID).Error; err != nil {
		return fmt.Errorf("lock invoice %s: %w", ir.Number, err)
	}

	res.inv, res.invOut = &fresh, invUnchanged
	changes, kept := r.invoiceChanges(&fresh, ir, res.cust)
	res.kept = kept
	if len(changes) == 0 {
		return nil
	}
	prior := fresh
	reopened := changes["status"] == models.InvoiceOpen
	res.reopened = reopened
	if reopened && fresh.WorkflowID == "" {
		// Stored paid by an earlier import, never had a journey: start it now.
		changes["workflow_id"] = workflows.InvoiceWorkflowID(r.adm.ID, fresh.Number)
		changes["journey_cycle"], changes["journey_started"] = 1, false
		res.start, res.prior = true, &prior
	}
	if err := tx.Model(&models.Invoice{}).Where("id = ?", fresh.ID).Updates(changes).Error; err != nil {
		return fmt.Errorf("update invoice %s: %w", ir.Number, err)
	}
	setInvoice(&fresh, changes)
	if bookkeeping(changes) {
		return nil
	}
	res.invOut = invUpdated
	if err := tx.Create(&models.InvoiceEvent{AdministrationID: r.adm.ID, InvoiceID: fresh.ID, Kind: models.EventImported,
		Detail: importedDetail(prior, fresh), At: r.svc.Now()}).Error; err != nil {
		return fmt.Errorf("record import of invoice %s on its timeline: %w", ir.Number, err)
	}
	_, openChanged := changes["open_minor"]
	_, statusChanged := changes["status"]
	if openChanged || statusChanged {
		var err error
		if fresh.Revision, err = bumpRevision(tx, fresh.ID); err != nil {
			return err
		}
	}
	if res.start || fresh.WorkflowID == "" {
		return nil
	}
	if openChanged || statusChanged {
		res.signals = append(res.signals, pendingSignal{workflows.SignalInvoiceUpdated, updatedSignal(&fresh)})
	}
	_, dueChanged := changes["due_date"]
	_, moved := changes["customer_id"]
	if (dueChanged || moved) && fresh.Status == models.InvoiceOpen {
		// The steps are counted from the due date, and follow the
		// customer's journey: re-plan the future ones.
		res.signals = append(res.signals, pendingSignal{workflows.SignalJourneyChanged,
			workflows.JourneyChangedSignal{JourneyID: res.cust.EffectiveJourneyID(r.adm)}})
	}
	return nil
}

// startTask starts the journey of a new (or reopened) invoice. When the
// start fails (Temporal down), the row stays with JourneyStarted false: the
// file's data is stored, and the reconciler starts the journey once
// Temporal answers (an import cannot ask for one row to be sent again).
func (r *importRun) startTask(line int, res rowResult) *importTask {
	cust, inv := *res.cust, *res.inv
	return &importTask{line: line, run: func(ctx context.Context) error {
		ok, err := r.svc.StartJourney(ctx, r.adm, &cust, &inv)
		if err != nil {
			r.mu.Lock()
			r.rep.JourneysDeferred++
			r.mu.Unlock()
			r.log.Warn("journey not started; the reconciler will start it", "invoice_id", inv.ID,
				"workflow_id", inv.WorkflowID, "error", err)
			return nil
		}
		if ok {
			r.mu.Lock()
			r.rep.JourneysStarted++
			r.mu.Unlock()
			r.log.Debug("journey started", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID)
		}
		return nil
	}}
}

// signalTask tells a running journey what changed. A journey that already
// ended is fine for a paid invoice, and for one whose journey ended at the
// hand-over to collection; an invoice the import reopened (paid or credited
// before, open now) gets a journey of the next cycle (Service.NextJourneyCycle).
func (r *importRun) signalTask(line int, inv models.Invoice, signals []pendingSignal, reopened bool) *importTask {
	return &importTask{line: line, run: func(ctx context.Context) error {
		for _, s := range signals {
			err := r.svc.Signal(ctx, inv.WorkflowID, s.name, s.payload)
			if errors.Is(err, domain.ErrJourneyEnded) && inv.CaseID != nil {
				// Handed over to a collection case: the case is told.
				if s.name != workflows.SignalInvoiceUpdated {
					continue
				}
				if _, err := r.svc.signalCase(ctx, &inv); err != nil {
					return err
				}
				continue
			}
			if errors.Is(err, domain.ErrJourneyEnded) {
				if inv.Status != models.InvoiceOpen || !reopened {
					// Paid, or a journey that ended at collection or with
					// its last step: an amount change does not restart it.
					return nil
				}
				started, err := r.svc.NextJourneyCycle(ctx, &inv)
				if err != nil {
					return err
				}
				if started {
					r.mu.Lock()
					r.rep.JourneysStarted++
					r.mu.Unlock()
				}
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	}}
}

// closeAbsent marks an open invoice that a full snapshot no longer lists as
// paid, unless something else closed it meanwhile, and signals its journey.
func (r *importRun) closeAbsent(inv models.Invoice) (*importTask, error) {
	closed := false
	err := r.db.Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Invoice{}).Where("id = ? AND status = ?", inv.ID, models.InvoiceOpen).
			Updates(map[string]any{"open_minor": 0, "status": models.InvoicePaid, "stage": string(workflows.StagePaid)})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		closed = true
		var err error
		inv.Revision, err = bumpRevision(tx, inv.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("close invoice %s absent from the snapshot: %w", inv.Number, err)
	}
	if !closed {
		return nil, nil
	}
	r.mu.Lock()
	r.rep.Invoices.ClosedAbsent++
	r.mu.Unlock()
	if inv.WorkflowID == "" {
		return nil, nil
	}
	inv.OpenMinor, inv.Status = 0, models.InvoicePaid
	return r.signalTask(0, inv, []pendingSignal{{workflows.SignalInvoiceUpdated, updatedSignal(&inv)}}, false), nil
}

// setCustomer applies written columns to the struct that stands for the row.
func setCustomer(c *models.Customer, ch map[string]any) {
	for col, v := range ch {
		s, _ := v.(string)
		switch col {
		case "name":
			c.Name = s
		case "legal_id":
			c.LegalID = s
		case "customer_type":
			c.Type = models.CustomerType(s)
		case "language":
			c.Language = s
		case "email":
			c.Email = s
		case "phone":
			c.Phone = s
		case "mobile":
			c.Mobile = s
		case "address_line1":
			c.AddressLine1 = s
		case "address_line2":
			c.AddressLine2 = s
		case "postal_code":
			c.PostalCode = s
		case "city":
			c.City = s
		case "country":
			c.Country = s
		case "provided_email":
			c.ProvidedEmail, c.ProvidedEmailAt = "", nil
		}
	}
}

// setInvoice applies written columns to the struct that stands for the row.
func setInvoice(inv *models.Invoice, ch map[string]any) {
	for col, v := range ch {
		switch col {
		case "amount_minor":
			inv.AmountMinor = v.(int64)
		case "open_minor":
			inv.OpenMinor = v.(int64)
		case "currency":
			inv.Currency = v.(string)
		case "issue_date":
			inv.IssueDate = v.(time.Time)
		case "due_date":
			inv.DueDate = v.(time.Time)
		case "status":
			inv.Status = v.(models.InvoiceStatus)
		case "stage":
			inv.Stage = v.(string)
		case "workflow_id":
			inv.WorkflowID = v.(string)
		case "customer_id":
			inv.CustomerID = v.(int64)
		case "journey_cycle":
			inv.JourneyCycle = v.(int)
		case "journey_started":
			inv.JourneyStarted = v.(bool)
		case "imported_amount_minor":
			n := v.(int64)
			inv.ImportedAmountMinor = &n
		case "imported_open_minor":
			n := v.(int64)
			inv.ImportedOpenMinor = &n
		}
	}
}

// customerTypeOf is the type a new customer gets: the file's, else business.
func customerTypeOf(t string) models.CustomerType {
	if t == string(models.CustomerConsumer) {
		return models.CustomerConsumer
	}
	return models.CustomerBusiness
}

// importedDetail says, for the invoice's timeline, what an import changed
// among the fields an admin follows (other changes: "details").
func importedDetail(before, after models.Invoice) string {
	var parts []string
	if before.OpenMinor != after.OpenMinor {
		parts = append(parts, fmt.Sprintf("open amount %d → %d %s (minor units)", before.OpenMinor, after.OpenMinor, after.Currency))
	}
	if before.AmountMinor != after.AmountMinor {
		parts = append(parts, fmt.Sprintf("amount %d → %d", before.AmountMinor, after.AmountMinor))
	}
	if before.Status != after.Status {
		parts = append(parts, fmt.Sprintf("status %s → %s", before.Status, after.Status))
	}
	if !before.DueDate.Equal(after.DueDate) {
		parts = append(parts, fmt.Sprintf("due date %s → %s", before.DueDate.Format("2006-01-02"), after.DueDate.Format("2006-01-02")))
	}
	if before.CustomerID != after.CustomerID {
		parts = append(parts, fmt.Sprintf("customer %d → %d", before.CustomerID, after.CustomerID))
	}
	if len(parts) == 0 {
		return "details"
	}
	return strings.Join(parts, "; ")
}
