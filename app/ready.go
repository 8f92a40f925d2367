package app

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/workflows"
)

// Ready checks that Relance can serve: the database answers, Temporal
// answers, and the namespace has Relance's search attributes with their
// types (without them every journey start fails).
func (s *Service) Ready(ctx context.Context) domain.Readiness {
	r := domain.Readiness{OK: true, Checks: map[string]string{}}
	set := func(name string, err error) {
		if err != nil {
			r.OK = false
			r.Checks[name] = err.Error()
			return
		}
		r.Checks[name] = "ok"
	}
	set("database", s.Ping(ctx))
	if s.temporal == nil {
		set("temporal", fmt.Errorf("not configured"))
		return r
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		set("temporal", fmt.Errorf("unavailable"))
		return r
	}
	set("temporal", nil)
	set("search_attributes", s.checkSearchAttributes(ctx))
	return r
}

// checkSearchAttributes names the search attributes the namespace lacks or
// has with another type.
func (s *Service) checkSearchAttributes(ctx context.Context) error {
	res, err := s.temporal.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("cannot list them: %w", err)
	}
	var bad []string
	for key := range workflows.SearchAttributes().GetUntypedValues() {
		got, ok := res.GetCustomAttributes()[key.GetName()]
		switch {
		case !ok:
			bad = append(bad, key.GetName()+" missing")
		case got != key.GetValueType():
			bad = append(bad, fmt.Sprintf("%s is %s, not %s", key.GetName(), got, key.GetValueType()))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("namespace %q: %s (run `relance temporal setup`)", s.namespace, strings.Join(bad, ", "))
}
