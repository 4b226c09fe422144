// Package jsonbytes reads and edits JSON as bytes: the validator every line goes through,
// and the few operations the agent needs on a value without decoding all of it.
//
// The API, by what callers do:
//
//   - Scan: ScanObject validates a line (RFC 8259 grammar, UTF-8, no object repeating a
//     key as encoding/json decodes keys) and returns the offsets of its top-level members
//     (Member). It declines (ErrDecline) what it cannot vouch for, such as nesting past
//     200 levels; the caller hands those lines to encoding/json (Unmarshal).
//   - Value: Value decodes a validated value as encoding/json decodes one into an `any`
//     with UseNumber (numbers as json.Number, their literal text); Unmarshal is
//     json.Unmarshal with UseNumber, for everything else. Kind and KindOf give a value's
//     JSON type without decoding it; Walk follows a path through a decoded value.
//   - Each: EachMember visits an object's members as offsets; MemberValue and ValueAt find
//     one by key or path; KeyEquals and Unquote compare and decode string tokens.
//   - Edit and delete: EditMember, DeleteMember and EditElements change one member or the
//     elements of an array and keep every other byte.
//   - Encode: Append writes a decoded value as encoding/json writes it (without HTML
//     escaping); Raw is JSON kept as bytes inside a decoded value.
//
// The functions other than ScanObject and Unmarshal take valid JSON: a validated line,
// or what encoding/json wrote. They do not check it again.
package jsonbytes
