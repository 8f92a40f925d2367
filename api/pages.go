package api

import "github.com/gin-gonic/gin"

// listPage answers ?limit and ?cursor from an app list method that returns
// rows by ID after a cursor: it asks for one row more than the page to
// know whether another page follows. It keeps the edge free of queries.
func listPage[T any](c *gin.Context, list func(after int64, limit int) ([]T, error), id func(T) int64) (Page[T], error) {
	limit, cursor, err := pageParams(c)
	if err != nil {
		return Page[T]{}, err
	}
	rows, err := list(cursor, limit+1)
	if err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Data: rows}
	if len(rows) > limit {
		p.Data = rows[:limit]
		p.Next = id(rows[limit-1])
	}
	if p.Data == nil {
		p.Data = []T{}
	}
	return p, nil
}
