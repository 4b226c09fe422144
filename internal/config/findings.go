package config

import (
	"errors"
	"fmt"
)

// Findings collects what a component config's Validate finds: problems, which make the
// config invalid, and warnings (see Warner), each "KEY: text". Add and Warn have the
// shape the shared checks take (secretfile.CheckInlineOrFile, tlsconfig.Client.CheckInto).
// The zero value is ready to use.
type Findings struct {
	errs     []error
	warnings []string
}

// Add records a problem with key.
func (f *Findings) Add(key, format string, args ...any) {
	f.errs = append(f.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Warn records a warning about key.
func (f *Findings) Warn(key, format string, args ...any) {
	f.warnings = append(f.warnings, fmt.Sprintf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// AddErrors records problems that already name their key (delivery.Config.Validate).
func (f *Findings) AddErrors(errs ...error) { f.errs = append(f.errs, errs...) }

// WarnLines records warnings that already name their key.
func (f *Findings) WarnLines(lines ...string) { f.warnings = append(f.warnings, lines...) }

// Err joins the problems; nil when there are none.
func (f *Findings) Err() error { return errors.Join(f.errs...) }

// Warnings returns the warnings recorded.
func (f *Findings) Warnings() []string { return f.warnings }
