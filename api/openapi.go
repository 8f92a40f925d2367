package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// The OpenAPI document is assembled from fragments under openapi/: base.json
// holds the info, security and shared components; every other file adds the
// paths and schemas of one resource, beside the handlers that serve them.
//
//go:embed openapi/*.json
var openapiFS embed.FS

var (
	openapiOnce sync.Once
	openapiDoc  []byte
	openapiErr  error
)

// OpenAPI returns the merged document.
func OpenAPI() ([]byte, error) {
	openapiOnce.Do(func() { openapiDoc, openapiErr = buildOpenAPI() })
	return openapiDoc, openapiErr
}

func buildOpenAPI() ([]byte, error) {
	names, err := fs.Glob(openapiFS, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var doc map[string]any
	for _, n := range names {
		if n == "openapi/base.json" {
			doc, err = readJSON(n)
			if err != nil {
				return nil, err
			}
		}
	}
	if doc == nil {
		return nil, fmt.Errorf("openapi/base.json is missing")
	}
	paths := ensureMap(doc, "paths")
	schemas := ensureMap(ensureMap(doc, "components"), "schemas")
	for _, n := range names {
		if n == "openapi/base.json" {
			continue
		}
		frag, err := readJSON(n)
		if err != nil {
			return nil, err
		}
		for p, v := range ensureMap(frag, "paths") {
			if _, dup := paths[p]; dup {
				// Two fragments may describe different methods of one path.
				for m, op := range v.(map[string]any) {
					paths[p].(map[string]any)[m] = op
				}
				continue
			}
			paths[p] = v
		}
		if comps, ok := frag["components"].(map[string]any); ok {
			for k, v := range ensureMap(comps, "schemas") {
				if _, dup := schemas[k]; dup {
					return nil, fmt.Errorf("%s: schema %s defined twice", n, k)
				}
				schemas[k] = v
			}
		}
	}
	readOnlyForbidden(paths)
	return json.MarshalIndent(doc, "", "  ")
}

// readOnlyForbidden documents the 403 that a read-only API key gets on every
// write under /api/v1 (the authentication middleware answers it), so that
// no fragment can forget it.
func readOnlyForbidden(paths map[string]any) {
	for p, item := range paths {
		if !strings.HasPrefix(p, "/api/v1/") {
			continue
		}
		for m, op := range item.(map[string]any) {
			if m == "get" || m == "head" || m == "options" || m == "parameters" {
				continue
			}
			o, ok := op.(map[string]any)
			if !ok {
				continue
			}
			res := ensureMap(o, "responses")
			if _, ok := res["403"]; !ok {
				res["403"] = map[string]any{"$ref": "#/components/responses/Problem"}
			}
		}
	}
}

func readJSON(name string) (map[string]any, error) {
	b, err := openapiFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return m, nil
}

func ensureMap(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[key] = v
	return v
}

func serveOpenAPI(c *gin.Context) {
	doc, err := OpenAPI()
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}
