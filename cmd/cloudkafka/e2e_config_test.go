package main

import (
	"strings"
	"testing"
)

// TestNoEffectPropertiesLogged: a property Kafka defines that changes
// nothing here is accepted within Kafka's bounds and named in the log; a
// name no one defines (a plugin's, a typo) is logged and ignored, as
// Kafka ignores it; and the broker serves clients.
func TestNoEffectPropertiesLogged(t *testing.T) {
	b := startBroker(t, "num.network.threads=16", "num.io.threads=4", "socket.send.buffer.bytes=204800", "unclean.leader.election.enable=true", "log.retention.ms=-5",
		"confluent.support.metrics.enable=false")
	kafkaGoClientRoundTrip(t, b, "no-effect", 10)
	log := b.logTail()
	for _, want := range []string{"num.network.threads=16: accepted, no effect", "socket.send.buffer.bytes=204800: accepted, no effect",
		"confluent.support.metrics.enable: supplied but not a known config, ignored"} {
		if !strings.Contains(log, want) {
			t.Errorf("broker log: got no line containing %q; want one\n%s", want, log)
		}
	}
	if strings.Contains(log, "num.io.threads=4: accepted, no effect") {
		t.Errorf("broker log: got num.io.threads reported as having no effect; want it honoured (the IO workers)")
	}
	if strings.Contains(log, "unclean.leader.election.enable=true: accepted, no effect") {
		t.Errorf("broker log: got unclean.leader.election.enable reported as having no effect; want it honoured (the topics' default)")
	}
	if strings.Contains(log, "log.retention.ms=-5: accepted, no effect") {
		t.Errorf("broker log: got log.retention.ms reported as having no effect; want it honoured (-5 keeps data forever)")
	}
}
