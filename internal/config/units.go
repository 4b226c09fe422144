package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// ByteSize is a size in bytes that configs may write as 4096, "4MiB", "5MB" or "1.5GiB".
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9},
	{"b", 1},
}

// ParseByteSize parses a size such as "4MiB" (binary) or "5MB" (decimal).
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("invalid size %q (want e.g. 4096, 512KiB, 4MiB, 5MB)", s)
	}
	v := f * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(v), nil
}

func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return strconv.FormatInt(int64(b), 10)
}

// HumanBytes formats a byte count for people, rounded, in binary units ("37.92 MiB",
// "622.0 KiB", "512 B"), as summaries and reports print it. Unlike String, it does not
// round-trip through ParseByteSize.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

var (
	byteSizeType = reflect.TypeOf(ByteSize(0))
	durationType = reflect.TypeOf(time.Duration(0))
)

// unitsHook decodes sizes and durations from strings and numbers (a bare number of
// seconds for a duration, as YAML writers often mean).
func unitsHook() mapstructure.DecodeHookFuncType {
	return func(from, to reflect.Type, data any) (any, error) {
		switch to {
		case byteSizeType:
			switch v := data.(type) {
			case string:
				return ParseByteSize(v)
			case int:
				return ByteSize(v), nil
			case int64:
				return ByteSize(v), nil
			case float64:
				return ByteSize(v), nil
			}
		case durationType:
			switch v := data.(type) {
			case string:
				d, err := time.ParseDuration(strings.TrimSpace(v))
				if err != nil {
					return nil, fmt.Errorf("invalid duration %q (want e.g. 500ms, 5s, 5m)", v)
				}
				return d, nil
			case int:
				return time.Duration(v) * time.Second, nil
			case float64:
				return time.Duration(v * float64(time.Second)), nil
			}
		}
		return data, nil
	}
}
