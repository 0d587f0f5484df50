// Package sim is Cloud Kafka's deterministic simulator: one broker, its
// disk, a network and Kafka clients in one goroutine, driven by one event
// queue in virtual time, with every random choice drawn from one seeded
// PRNG. A run is a function of its seed; Run returns a hash of everything
// that happened (the trace) and the failures of the checks.
//
// # The world
//
//	           sendToBroker (latency, in order)          driver.Handle
//	clients ──────────────────────────────────▶ conn ───────────────▶ core.Broker
//	(admin,  ◀────────────────────────────────── conn ◀─────────────── (io/driver over
//	producers, sendToClient (in request order)      Transport.Respond   memfs + FileCoordinator)
//	consumers)
//
// Events are closures ordered by (virtual instant, sequence number). The
// broker runs the production driver (io/driver) over the crashable memfs,
// so the real segment store and recovery run under the sim's crashes.
// Storage effects complete synchronously inside one Handle, so crashes
// between events never find unsynced data; crash points (fault
// crash-at-io) crash the broker just before a chosen file operation,
// inside Handle, by unwinding it with a panic that world.handle recovers.
//
// # A run
//
//  1. Setup: the seed draws the broker's segment and index sizes, the disk's
//     crash policy (torn tails, garbage), latency, the clients (count,
//     idempotence, acks, API versions, pipelining) and the fault mix
//     (swarm testing). The admin creates the topic.
//  2. Faults: producers and consumers run while faults fire, for
//     Config.Duration of virtual time.
//  3. Drain: faults stop, producers finish what they started, and the
//     run converges once every consumer has read every acknowledged
//     record — or fails for liveness after a minute.
//  4. Check: CheckHistory runs the queue checks over the recorded history.
//
// The broker runs with log.flush.interval.messages=1: an acknowledgement
// implies the data was synced, so no acknowledged record may be lost by
// any crash.
//
// # Determinism
//
// Nothing reads a clock, starts a goroutine or lets map order reach
// behaviour; the trace hash (see tracer) covers every request, response,
// tick, connection event, file operation and fault, and a test runs seeds
// twice to compare it.
package sim
