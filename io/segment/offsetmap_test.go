package segment

import (
	"fmt"
	"testing"
)

// TestOffsetMapLoadFactor: whatever log.cleaner.io.buffer.load.factor
// Kafka accepts, the map fills below its slot count, so a lookup of an
// unmapped key in a full map ends; and a map sized for the dirty
// section's records holds them all.
func TestOffsetMapLoadFactor(t *testing.T) {
	for _, lf := range []float64{0.5, 0.9, 1, 1.5, 1e300} {
		m := newOffsetMap(offsetMapSlots(5*offsetMapEntry, lf, 100), lf)
		if m.maxEntries >= m.slotCount() || m.maxEntries < 1 {
			t.Fatalf("load factor %v: map of %d slots holds %d keys; want 1 to %d", lf, m.slotCount(), m.maxEntries, m.slotCount()-1)
		}
		for i := 0; !m.full(); i++ {
			m.put([]byte(fmt.Sprint("k", i)), 0)
		}
		if got := m.get([]byte("absent")); got != -1 {
			t.Errorf("load factor %v: unmapped key in a full map: got %d; want -1", lf, got)
		}
		sized := newOffsetMap(offsetMapSlots(1<<20, lf, 100), lf)
		if sized.maxEntries < 100 {
			t.Errorf("load factor %v: map sized for 100 records holds %d keys", lf, sized.maxEntries)
		}
	}
}
