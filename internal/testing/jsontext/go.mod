module github.com/auditship/auditship/internal/testing/jsontext

go 1.26.8

require (
	github.com/auditship/auditship v0.0.0-00010101000000-000000000000
	github.com/go-json-experiment/json v1.27.2
)

require (
	github.com/fatih/color v1.13.0 // indirect
	github.com/hashicorp/go-hclog v1.6.3 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/auditship/auditship => ../../..
