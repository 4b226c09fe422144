// Package freeport hands tests a loopback address for a server they start themselves (an
// agent's listener, etcd, kube-apiserver, MinIO), which must be named before it runs.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// span is how many ports below the kernel's ephemeral range Addr picks from.
const span = 12000

// Addr returns "127.0.0.1:PORT" where nothing listens now. PORT is chosen at random below
// the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default).
//
// The usual trick -- listen on port 0 and close -- returns a port from the ephemeral
// range, which the kernel may hand to any outgoing connection or port-0 listener before
// the test's server binds it; with other test packages' clients and servers running
// alongside, the server then fails with "address already in use" (seen in CI:
// TestReadyzTellsLittle timed out while the e2e tests ran). No kernel-chosen port is ever
// below the range, so only another Addr caller can take the port meanwhile, one chance
// in about span.
func Addr() (string, error) {
	low := ephemeralLow()
	base := max(low-span, 1024)
	for range 200 {
		port := base + rand.IntN(low-base)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // in use: pick another
		}
		addr := l.Addr().String()
		if err := l.Close(); err != nil {
			return "", fmt.Errorf("free port: close %s: %w", addr, err)
		}
		return addr, nil
	}
	return "", fmt.Errorf("free port: no free port in 127.0.0.1:%d-%d after 200 tries", base, low-1)
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768 when it cannot be
// read: Linux's default and IANA's 49152 are both above it).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 1024+100 {
		return 32768
	}
	return n
}
