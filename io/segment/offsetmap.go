package segment

import (
	"crypto/md5"
	"encoding/binary"

	"cloudkafka/core"
)

// offsetMap is the cleaner's key -> latest offset map, Kafka's
// SkimpyOffsetMap: an open-addressed table of fixed slots in one byte
// slice, each slot a key's 16-byte MD5 digest and an 8-byte offset, so
// that its memory is exactly slots*24 bytes whatever the keys' sizes. As
// in Kafka, keys are compared by digest only (two keys with the same MD5
// count as one).
//
// It is full at maxEntries = slots*loadFactor entries
// (log.cleaner.io.buffer.load.factor); the cleaner then stops mapping and
// cleans the prefix it mapped. Kafka takes any load factor; maxEntries
// stays below slots whatever it is, so that a probe always meets a free
// slot (Kafka's map, asked to hold more than its slots at a factor above
// 1, fails the clean instead). latest is the highest offset mapped so far
// (Kafka's latestOffset): records above it are past what this clean knows
// and are kept.
//
// Slot layout (24 bytes): digest [16]byte, offset+1 uint64 big endian
// (0 marks a free slot).
type offsetMap struct {
	slots      []byte
	n          int // slots in use
	maxEntries int
	latest     core.Offset
}

const (
	digestBytes    = md5.Size
	offsetMapEntry = digestBytes + 8
)

// offsetMapSlots is how many slots a clean gets: the per-clean dedupe
// buffer's worth (bufferBytes/24), but no more than records needs at the
// load factor (a map that can hold every record of the dirty section
// never fills, exactly as the full-sized one would not), and at least 2.
func offsetMapSlots(bufferBytes int64, loadFactor float64, records int64) int {
	slots := bufferBytes / offsetMapEntry
	need := float64(records)/min(loadFactor, 1) + 2
	if need < float64(slots) {
		slots = int64(need)
	}
	return int(max(slots, 2))
}

// newOffsetMap makes a map of slots (at least 2) that holds
// slots*loadFactor keys, at least 1 and at most slots-1.
func newOffsetMap(slots int, loadFactor float64) *offsetMap {
	entries := min(float64(slots)*loadFactor, float64(slots-1))
	return &offsetMap{slots: make([]byte, slots*offsetMapEntry),
		maxEntries: max(int(entries), 1), latest: -1}
}

func (m *offsetMap) slotCount() int { return len(m.slots) / offsetMapEntry }

func (m *offsetMap) full() bool { return m.n >= m.maxEntries }

func keyDigest(key []byte) [digestBytes]byte { return md5.Sum(key) }

// find returns the slot of d, or the free slot where it would go.
func (m *offsetMap) find(d *[digestBytes]byte) int {
	n := m.slotCount()
	i := int(binary.BigEndian.Uint64(d[:8]) % uint64(n))
	for {
		s := m.slots[i*offsetMapEntry : (i+1)*offsetMapEntry]
		if binary.BigEndian.Uint64(s[digestBytes:]) == 0 || [digestBytes]byte(s[:digestBytes]) == *d {
			return i
		}
		i = (i + 1) % n
	}
}

// put maps key to offset (offsets are put in increasing order). The
// caller checks full first: a full map never takes a new key.
func (m *offsetMap) put(key []byte, offset core.Offset) {
	d := keyDigest(key)
	s := m.slots[m.find(&d)*offsetMapEntry:]
	if binary.BigEndian.Uint64(s[digestBytes:]) == 0 {
		if m.full() {
			panic("segment: put into a full offset map")
		}
		m.n++
		copy(s, d[:])
	}
	binary.BigEndian.PutUint64(s[digestBytes:], uint64(offset)+1)
	m.latest = max(m.latest, offset)
}

// get returns the latest offset mapped for key, or -1.
func (m *offsetMap) get(key []byte) core.Offset {
	d := keyDigest(key)
	s := m.slots[m.find(&d)*offsetMapEntry:]
	return core.Offset(binary.BigEndian.Uint64(s[digestBytes:])) - 1
}
