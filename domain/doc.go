// Package domain is what the edges and the application layer say to each
// other: the errors of the application service, its commands (patches,
// inputs), list filters and pages, read models and reports. It holds no
// storage and no Temporal code, so that an edge (the API, the portal) can
// depend on it without linking the database or the workflows; the
// implementation is package app, wired in by cmd/relance.
package domain
