// Package kio holds the device ports that the production runtime (realio)
// and the simulator (sim) both implement — file system, clock, transport,
// coordination — and the deterministic code shared by both worlds over
// those ports: the request framing codec and the driver that executes a
// core.Broker's effects.
//
// Import it as kio everywhere: the folder name shadows the standard
// library's io.
package kio
