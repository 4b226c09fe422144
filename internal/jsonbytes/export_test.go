package jsonbytes

// BigObject is bigObject, for the tests that build objects past it.
const BigObject = bigObject
