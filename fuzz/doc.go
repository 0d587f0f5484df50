// Package fuzz holds native Go fuzz targets and rapid property tests that
// cross package boundaries: arbitrary bytes through the request path
// (decode, then the broker core over an in-memory disk).
package fuzz
