package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestAddr: the address is loopback, below the ephemeral range, and bindable.
func TestAddr(t *testing.T) {
	low := ephemeralLow()
	seen := map[string]bool{}
	for range 50 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		host, p, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("Addr() = %q, want 127.0.0.1:PORT", addr)
		}
		port, _ := strconv.Atoi(p)
		if port >= low || port < 1024 {
			t.Fatalf("port %d, want in [1024, %d)", port, low)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the address Addr returned cannot be bound: %v", err)
		}
		l.Close()
		seen[addr] = true
	}
	if len(seen) < 40 {
		t.Errorf("50 calls gave only %d distinct addresses: the pick is not spread", len(seen))
	}
}

// TestAddrSkipsPortsInUse: a port something listens on is never returned.
func TestAddrSkipsPortsInUse(t *testing.T) {
	low := ephemeralLow()
	base := max(low-span, 1024)
	// Hold every 8th port of the span (as many as the file limit allows): Addr must
	// return one of the others.
	held := map[int]net.Listener{}
	for p := base; p < low; p += 8 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			held[p] = l
		}
	}
	if len(held) < 100 {
		t.Fatalf("could hold only %d ports", len(held))
	}
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 20 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if held[port] != nil {
			t.Fatalf("Addr returned %s, a port held by this test", addr)
		}
	}
}
