package core_test

import "testing"

// TestRetainWhenFilesDue: a Retained that reports files of removed
// segments due for deletion makes the broker ask for their deletion (a
// Retain with FilesOnly) once that time has come, well before the next
// log.retention.check.interval.ms, and not before.
func TestRetainWhenFilesDue(t *testing.T) {
	h := newHarness(t, map[string]string{"log.retention.check.interval.ms": "300000"})
	h.createTopic("t", 1, nil)
	due := h.now.Millis() + 300001 + 2000
	h.filesDueMs = due // what the store answers the first check
	h.tick(300001)
	h.deliverAll()
	if len(h.retains) == 0 || h.filesDueMs != 0 {
		t.Fatal("no retention check")
	}
	h.retains = nil
	h.tick(1000)
	h.deliverAll()
	if len(h.retains) != 0 {
		t.Fatalf("a Retain 1 s before the files were due: %+v", h.retains)
	}
	h.tick(1000)
	h.deliverAll()
	if len(h.retains) != 1 || h.retains[0].Now.Millis() < due || !h.retains[0].FilesOnly {
		t.Fatalf("retains %+v at %d; want one for the files alone once they were due at %d", h.retains, h.now.Millis(), due)
	}
	h.retains = nil
	h.tick(1000)
	h.deliverAll()
	if len(h.retains) != 0 {
		t.Fatalf("a Retain after the store reported nothing due: %+v", h.retains)
	}
}
