package app

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/render"
)

// templateName is the form of a template set's name.
var templateName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// templateLanguages are the languages templates are written in (the shipped
// defaults' languages).
var templateLanguages = []string{"nl", "fr", "en", "de"}

// validTemplate normalises in and checks it: a known kind on a channel that
// kind goes by (the combinations of the shipped defaults), a supported
// language, a subject where the channel has one, no unknown #tag, and in a
// bundle's text (kind "bundle_…") no tag about one invoice. An email body
// is sanitized (render.SanitizeEmailBody).
func validTemplate(in *domain.TemplateInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		in.Name = domain.DefaultTemplateName
	}
	if !templateName.MatchString(in.Name) {
		return domain.Invalid("name", "%q is not a template name (lowercase letters, digits, '_' and '-', at most 64)", in.Name)
	}
	in.Kind, in.Channel = strings.TrimSpace(in.Kind), strings.TrimSpace(in.Channel)
	in.Language = strings.ToLower(strings.TrimSpace(in.Language))
	if !slices.Contains(templateLanguages, in.Language) {
		return domain.Invalid("language", "%q is not a template language (one of %s)", in.Language, strings.Join(templateLanguages, ", "))
	}
	if _, ok := render.TemplateDefault(in.Kind, in.Channel, "en"); !ok {
		return domain.Invalid("kind", "no template of kind %q goes by channel %q", in.Kind, in.Channel)
	}
	in.Subject = strings.TrimSpace(in.Subject)
	switch {
	case in.Channel == "sms" && in.Subject != "":
		return domain.Invalid("subject", "an SMS has no subject")
	case in.Channel == "email" && in.Subject == "":
		return domain.Invalid("subject", "is required for an email")
	case len(in.Subject) > 512:
		return domain.Invalid("subject", "is longer than 512 bytes")
	}
	if in.Channel == "email" {
		in.Body = render.SanitizeEmailBody(in.Body)
	}
	if strings.TrimSpace(in.Body) == "" {
		return domain.Invalid("body", "is required")
	}
	for _, f := range [...]struct{ field, text string }{{"subject", in.Subject}, {"body", in.Body}} {
		field := f.field
		if err := render.ValidateKind(in.Kind, f.text); err != nil {
			var unknown *render.UnknownTagError
			if errors.As(err, &unknown) {
				return domain.RuleBroken(field, "unknown tag %s (GET /api/v1/template-tags lists them)", unknown.Tag)
			}
			var invoice *render.InvoiceTagError
			if errors.As(err, &invoice) {
				return domain.RuleBroken(field, "%v", invoice)
			}
			return domain.Invalid(field, "%v", err)
		}
	}
	return nil
}

// Templates lists the templates that apply to administration adm: its own,
// and the shipped defaults of the "default" set it has not overridden
// (the steps' texts and the bundles' texts, kinds "bundle_…"), by name,
// kind, channel and language.
func (s *Service) Templates(ctx context.Context, adm int64) ([]domain.EffectiveTemplate, error) {
	var own []models.Template
	if err := s.db.WithContext(ctx).Where("administration_id = ?", adm).Order("name, kind, channel, language").Find(&own).Error; err != nil {
		return nil, storeErr(err, "list templates of administration %d", adm)
	}
	type key struct{ name, kind, channel, lang string }
	have := map[key]bool{}
	out := make([]domain.EffectiveTemplate, 0, len(own))
	for i := range own {
		t := &own[i]
		have[key{t.Name, t.Kind, t.Channel, t.Language}] = true
		out = append(out, effective(t))
	}
	for _, d := range render.TemplateDefaults() {
		if !have[key{domain.DefaultTemplateName, d.Kind, d.Channel, d.Language}] {
			out = append(out, domain.EffectiveTemplate{Name: domain.DefaultTemplateName, Kind: d.Kind, Channel: d.Channel,
				Language: d.Language, Subject: d.Subject, Body: d.Body, Source: domain.TemplateShipped})
		}
	}
	slices.SortStableFunc(out, func(a, b domain.EffectiveTemplate) int {
		return strings.Compare(a.Name+"\x00"+a.Kind+"\x00"+a.Channel+"\x00"+a.Language, b.Name+"\x00"+b.Kind+"\x00"+b.Channel+"\x00"+b.Language)
	})
	return out, nil
}

func effective(t *models.Template) domain.EffectiveTemplate {
	at := t.UpdatedAt
	return domain.EffectiveTemplate{ID: t.ID, Name: t.Name, Kind: t.Kind, Channel: t.Channel, Language: t.Language,
		Subject: t.Subject, Body: t.Body, Version: t.Version, Source: domain.TemplateStored, UpdatedAt: &at}
}

// Template loads a template of organization org with its administration.
func (s *Service) Template(ctx context.Context, org, id int64) (*models.Template, *models.Administration, error) {
	var t models.Template
	if err := s.ofOrganization(ctx, org).Where("id = ?", id).First(&t).Error; err != nil {
		return nil, nil, storeErr(err, "template %d", id)
	}
	adm, err := s.Administration(ctx, org, t.AdministrationID)
	return &t, adm, err
}

// TemplateVersions lists the saved versions of a template, newest first.
func (s *Service) TemplateVersions(ctx context.Context, t *models.Template) ([]models.TemplateVersion, error) {
	var out []models.TemplateVersion
	err := s.db.WithContext(ctx).Where("template_id = ?", t.ID).Order("version DESC").Find(&out).Error
	return out, storeErr(err, "list versions of template %d", t.ID)
}

// CreateTemplate stores a new template of adm as its version 1. The same
// name, kind, channel and language twice is ErrConflict.
func (s *Service) CreateTemplate(ctx context.Context, adm *models.Administration, in domain.TemplateInput) (*models.Template, error) {
	if err := validTemplate(&in); err != nil {
		return nil, err
	}
	t := models.Template{AdministrationID: adm.ID, Name: in.Name, Kind: in.Kind, Channel: in.Channel, Language: in.Language,
		Subject: in.Subject, Body: in.Body, Version: 1}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		return tx.Create(&models.TemplateVersion{TemplateID: t.ID, Version: 1, Subject: t.Subject, Body: t.Body, CreatedAt: t.CreatedAt}).Error
	})
	if err != nil {
		return nil, storeErr(err, "store template %s/%s/%s/%s", in.Name, in.Kind, in.Channel, in.Language)
	}
	return &t, nil
}

// UpdateTemplate saves a new subject and body of t as its next version.
// Name, kind, channel and language cannot change (422): they identify what
// the template is used for. A save that lost a race with another is
// ErrConflict, and nothing is written.
func (s *Service) UpdateTemplate(ctx context.Context, t *models.Template, in domain.TemplateInput) error {
	for _, f := range [...]struct{ field, asked, cur string }{
		{"name", in.Name, t.Name}, {"kind", in.Kind, t.Kind}, {"channel", in.Channel, t.Channel}, {"language", in.Language, t.Language},
	} {
		if f.asked != "" && !strings.EqualFold(strings.TrimSpace(f.asked), f.cur) {
			return domain.RuleBroken(f.field, "a template's %s cannot change (%q); create another template", f.field, f.cur)
		}
	}
	in.Name, in.Kind, in.Channel, in.Language = t.Name, t.Kind, t.Channel, t.Language
	if err := validTemplate(&in); err != nil {
		return err
	}
	now := s.Now()
	next := t.Version + 1
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Template{}).Where("id = ? AND version = ?", t.ID, t.Version).
			Updates(map[string]any{"subject": in.Subject, "body": in.Body, "version": next, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return conflict("template %d was saved by someone else meanwhile (version %d is no longer the newest); reload it", t.ID, t.Version)
		}
		return tx.Create(&models.TemplateVersion{TemplateID: t.ID, Version: next, Subject: in.Subject, Body: in.Body, CreatedAt: now}).Error
	})
	if err != nil {
		return storeErr(err, "update template %d", t.ID)
	}
	t.Subject, t.Body, t.Version, t.UpdatedAt = in.Subject, in.Body, next, now
	return nil
}

// DeleteTemplate deletes a template and its versions; messages keep the ID
// and version they were written from. The last template of a set that a
// journey of adm names is ErrConflict: journeys name only sets that exist.
// Deleting an override of the "default" set brings the shipped text back.
func (s *Service) DeleteTemplate(ctx context.Context, adm *models.Administration, t *models.Template) error {
	return storeErr(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if t.Name != domain.DefaultTemplateName {
			var others, steps int64
			if err := tx.Model(&models.Template{}).Where("administration_id = ? AND name = ? AND id <> ?", adm.ID, t.Name, t.ID).Count(&others).Error; err != nil {
				return err
			}
			if err := tx.Model(&models.JourneyStep{}).Joins("JOIN journeys ON journeys.id = journey_steps.journey_id").
				Where("journeys.administration_id = ? AND journey_steps.template = ?", adm.ID, t.Name).Count(&steps).Error; err != nil {
				return err
			}
			if others == 0 && steps > 0 {
				return conflict("template set %q is named by %d journey step(s) and this is its last template", t.Name, steps)
			}
		}
		if err := tx.Where("template_id = ?", t.ID).Delete(&models.TemplateVersion{}).Error; err != nil {
			return err
		}
		return tx.Delete(t).Error
	}), "delete template %d", t.ID)
}
