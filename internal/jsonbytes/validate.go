package jsonbytes

const (
	failSyntax   = -1 // or anything else the fast path declines
	failRepeated = -2 // an object repeats a key
)

// value validates the value at b[i] and returns the index just past it, or a fail
// constant.
//
// Longer than 80 lines on purpose: one state machine (value, next, key) with its stack in
// a local slice keeps the position in a register and makes no call per value. It replaced
// a recursive validator of small functions (kept in scan_test.go as the reference) that
// cost more CPU per line (docs/development.md, "The validator"), and this loop is most of
// what the agent spends on a line.
func (v *validator) value(i int) int {
	b := v.b
	stack := v.stack[:0]
	var (
		c       byte
		end     int
		esc     bool
		k       keyRec
		from    uint32
		nStack  int
		failure = failSyntax
	)

value: // a value starts at b[i]
	if i >= len(b) {
		goto fail
	}
	switch c = b[i]; c {
	case '{':
		if len(stack) >= fastMaxDepth {
			goto fail
		}
		stack = append(stack, uint32(len(v.keys))<<1)
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			i++
			stack = stack[:len(stack)-1]
			goto next
		}
		goto key
	case '[':
		if len(stack) >= fastMaxDepth {
			goto fail
		}
		stack = append(stack, 1)
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			i++
			stack = stack[:len(stack)-1]
			goto next
		}
		goto value
	case '"':
		if i, _ = str(b, i); i < 0 {
			goto fail
		}
	case 't':
		if i+4 > len(b) || string(b[i:i+4]) != "true" {
			goto fail
		}
		i += 4
	case 'f':
		if i+5 > len(b) || string(b[i:i+5]) != "false" {
			goto fail
		}
		i += 5
	case 'n':
		if i+4 > len(b) || string(b[i:i+4]) != "null" {
			goto fail
		}
		i += 4
	default:
		if i = number(b, i); i < 0 {
			goto fail
		}
	}

next: // a value ended at b[i]: what follows depends on what holds it
	nStack = len(stack)
	if nStack == 0 {
		v.stack = stack
		return i
	}
	from = stack[nStack-1]
	i = skipSpace(b, i)
	if i >= len(b) {
		goto fail
	}
	switch b[i] {
	case ',':
		i = skipSpace(b, i+1)
		if from&1 != 0 {
			goto value
		}
		goto key
	case '}':
		if from&1 != 0 {
			goto fail
		}
		v.keys = v.keys[:from>>1]
		if v.big != nil {
			delete(v.big, int(from>>1)) // a later object may start its keys here
		}
	case ']':
		if from&1 == 0 {
			goto fail
		}
	default:
		goto fail
	}
	i++
	stack = stack[:nStack-1]
	goto next

key: // a member of the innermost object starts at b[i]
	if i >= len(b) || b[i] != '"' {
		goto fail
	}
	end, esc = str(b, i)
	if end < 0 {
		goto fail
	}
	k = v.keyRec(i, end, esc)
	if v.seen(int(stack[len(stack)-1]>>1), k) {
		failure = failRepeated
		goto fail
	}
	v.keys = append(v.keys, k)
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		goto fail
	}
	i = skipSpace(b, i+1)
	goto value

fail:
	v.stack = stack[:0]
	return failure
}
