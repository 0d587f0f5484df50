package sim

import (
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// diskView is the checks' own reading of the broker's disk, independent
// of the segment store: it walks the batch headers of a partition's
// segment files, in the durable image (what a power loss now would
// leave: synced bytes under durable names) and in the written image (what
// reads can see). It remembers every batch's last offset and max
// timestamp it has seen, so that a later log start can be checked
// against what retention was allowed to delete.
//
// Parsing is incremental per file and image; a crash forgets everything.
type diskView struct {
	files   map[fileKey]*parsedFile // by image and path; lookups only
	lists   map[listKey][]segName   // segment listings, valid while names is current
	names   uint64                  // the file system's NamesVersion the lists were taken at
	batches map[int32][]seenBatch   // per partition, by last offset; written image only
	starts  map[int32]core.Offset   // highest log start a response revealed, per partition
}

type fileKey struct {
	durable bool
	name    string
	id      uint64 // the file under name (a cleaner's swap replaces it)
	cuts    uint64 // its truncations (a follower's repair cuts its log)
}

type segName struct {
	name string
	base core.Offset
}

type listKey struct {
	durable bool
	part    int32
}

type parsedFile struct {
	pos  int         // bytes parsed
	next core.Offset // offset after the last batch parsed
	bad  bool        // a batch did not follow: the image ends there
}

type seenBatch struct {
	last  core.Offset
	maxTs int64
}

func (d *diskView) forget() { d.files, d.lists = nil, nil }

// logEnd returns the end offset of partition part's log in the durable or
// the written image: the walk stops at the first batch that is torn or
// does not follow its predecessor, as recovery would. In a compacted log,
// segments below the cleaner's rewrite bound (its checkpoint in the same
// image) may skip offsets, after a batch and after the segment, as
// recovery allows; and their end may not be the log end, which is at
// least the bound.
func (n *node) logEnd(part int32, durable bool) core.Offset {
	d := &n.disk
	if d.files == nil {
		d.files = map[fileKey]*parsedFile{}
	}
	names := n.segmentNames(part, durable)
	bound := n.rewriteBound(part, durable)
	end, prevBase := core.Offset(-1), core.Offset(-1)
	for i, sn := range names {
		gapsBefore := prevBase >= 0 && prevBase < bound
		if end >= 0 && (sn.base < end || (sn.base != end && !gapsBefore)) {
			break // a break in the segments: recovery drops the rest
		}
		data := n.fs.WrittenData(sn.name)
		if durable {
			data = n.fs.DurableData(sn.name)
		}
		limit := core.Offset(math.MaxInt64)
		if i+1 < len(names) {
			limit = names[i+1].base
		}
		key := fileKey{durable, sn.name, n.fs.ID(sn.name, durable), n.fs.Cuts(sn.name, durable)}
		end = n.disk.parse(key, data, sn.base, part, !durable, sn.base < bound, limit)
		prevBase = sn.base
	}
	return max(end, bound, 0)
}

// rewriteBound reads a compacted partition's cleaner rewrite bound in one
// image (io/segment's cleaner-rewrite-offset-checkpoint), or 0.
func (n *node) rewriteBound(part int32, durable bool) core.Offset {
	w := n.w
	if !w.policy.compact {
		return 0
	}
	return n.checkpointOffset(part, "cleaner-rewrite-offset-checkpoint", durable)
}

// checkpointOffset parses the offset of a one-entry Kafka checkpoint
// file of partition part in one image, or 0 when there is none.
func (n *node) checkpointOffset(part int32, file string, durable bool) core.Offset {
	w := n.w
	name := path.Join(dataDir, w.topic+"-"+strconv.Itoa(int(part)), file)
	data := n.fs.WrittenData(name)
	if durable {
		data = n.fs.DurableData(name)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		return 0
	}
	f := strings.Fields(lines[2])
	if len(f) != 3 {
		return 0
	}
	off, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return 0
	}
	return core.Offset(off)
}

// segmentNames lists a partition's segment files in one image, from a
// cache that holds while no file name changes.
func (n *node) segmentNames(part int32, durable bool) []segName {
	w := n.w
	d := &n.disk
	if v := n.fs.NamesVersion(); d.lists == nil || d.names != v {
		d.lists, d.names = map[listKey][]segName{}, v
	}
	k := listKey{durable, part}
	if names, ok := d.lists[k]; ok {
		return names
	}
	dir := path.Join(dataDir, w.topic+"-"+strconv.Itoa(int(part)))
	all := n.fs.WrittenNames(dir)
	if durable {
		all = n.fs.DurableNames(dir)
	}
	var names []segName
	for _, n := range all {
		if base, ok := segmentBase(n); ok {
			names = append(names, segName{n, base})
		}
	}
	d.lists[k] = names
	return names
}

func segmentBase(name string) (core.Offset, bool) {
	b, ok := strings.CutSuffix(path.Base(name), ".log")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(b, 10, 64)
	return core.Offset(n), err == nil
}

// parse walks data's batch headers from where the last call stopped and
// returns the end offset of the valid prefix. With gaps, a batch may
// start past its predecessor's end, but must end below limit.
func (d *diskView) parse(key fileKey, data []byte, base core.Offset, part int32, note, gaps bool, limit core.Offset) core.Offset {
	f := d.files[key]
	if f == nil || f.pos > len(data) {
		f = &parsedFile{next: base}
		d.files[key] = f
	}
	for !f.bad && f.pos+core.BatchHeaderSize <= len(data) {
		h, err := core.ParseBatchHeader(data[f.pos:])
		if err != nil || f.pos+h.Size() > len(data) {
			break // torn: maybe completed by a later write
		}
		follows := h.BaseOffset == f.next
		if gaps {
			follows = h.BaseOffset >= f.next && h.LastOffset() < limit
		}
		if !follows {
			f.bad = true
			break
		}
		if note {
			d.noteBatch(part, h)
		}
		f.pos += h.Size()
		f.next = h.LastOffset() + 1
	}
	return f.next
}

func (d *diskView) noteBatch(part int32, h core.BatchHeader) {
	if d.batches == nil {
		d.batches = map[int32][]seenBatch{}
	}
	bs, last := d.batches[part], h.LastOffset()
	if n := len(bs); n > 0 && bs[n-1].last >= last {
		i := sort.Search(n, func(i int) bool { return bs[i].last >= last })
		if bs[i].last == last && bs[i].maxTs == h.MaxTimestamp {
			return // seen before
		}
		// Rewritten: a crash lost the batches first written here, or a
		// follower's repair cut them, and others took their offsets
		// (a retry may carry an older timestamp). What the log holds now
		// replaces them from this batch's base on.
		bs = bs[:sort.Search(n, func(i int) bool { return bs[i].last >= h.BaseOffset })]
	}
	d.batches[part] = append(bs, seenBatch{last, h.MaxTimestamp})
}

// checkResponse holds every Produce, Fetch and ListOffsets answer to the
// flush policy at the instant the broker sends it, against the disk: an
// acknowledged or visible offset beyond the durable end is allowed only
// within flush.messages-1 records, and nothing visible lies beyond what
// was written. It also checks what a revealed log start says retention
// deleted. These checks fire on the first occurrence, with no crash
// needed to expose them.
func (n *node) checkResponse(cr checkedRequest, frame []byte) {
	w := n.w
	req := cr.req
	resp, err := kio.DecodeResponse(req, frame)
	if err != nil {
		return // the client reports undecodable responses
	}
	switch r := resp.(type) {
	case *kmsg.ProduceResponse:
		n.checkProduceResponse(req.(*kmsg.ProduceRequest), r)
	case *kmsg.FetchResponse:
		n.checkFetchLatency(req.(*kmsg.FetchRequest), cr.at)
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if (t.Topic == w.topic || req.GetVersion() >= 13) && p.ErrorCode == 0 {
					n.checkVisible("fetch high watermark", p.Partition, core.Offset(p.HighWatermark))
					n.checkLogStart(p.Partition, core.Offset(p.LogStartOffset))
				}
			}
		}
	case *kmsg.ListOffsetsResponse:
		n.checkListResponse(req.(*kmsg.ListOffsetsRequest), r)
	}
}

func (n *node) checkProduceResponse(req *kmsg.ProduceRequest, r *kmsg.ProduceResponse) {
	w := n.w
	for _, t := range r.Topics {
		if t.Topic != w.topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				continue
			}
			end := core.Offset(p.BaseOffset) + producedRecords(req, p.Partition)
			n.checkVisible("acknowledged produce", p.Partition, end)
			w.noteCommitted(n.id, p.Partition, end)
		}
	}
}

// producedRecords counts the records of the request's batch for part.
func producedRecords(req *kmsg.ProduceRequest, part int32) core.Offset {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			if p.Partition == part {
				if h, err := core.ParseBatchHeader(p.Records); err == nil {
					return core.Offset(h.LastOffsetDelta) + 1
				}
			}
		}
	}
	return 0
}

func (n *node) checkListResponse(req *kmsg.ListOffsetsRequest, r *kmsg.ListOffsetsResponse) {
	w := n.w
	for ti, t := range r.Topics {
		if t.Topic != w.topic || ti >= len(req.Topics) {
			continue
		}
		for pi, p := range t.Partitions {
			if p.ErrorCode != 0 || pi >= len(req.Topics[ti].Partitions) {
				continue
			}
			switch req.Topics[ti].Partitions[pi].Timestamp {
			case -1:
				n.checkVisible("ListOffsets latest", p.Partition, core.Offset(p.Offset))
			case -2:
				n.checkLogStart(p.Partition, core.Offset(p.Offset))
			default:
				if p.Offset >= 0 {
					n.checkVisible("ListOffsets by timestamp", p.Partition, core.Offset(p.Offset)+1)
				}
			}
		}
	}
}

// checkVisible checks that offsets below end, which the broker just
// acknowledged or exposed, are written, and durable but for fewer than
// flush.messages records.
func (n *node) checkVisible(what string, part int32, end core.Offset) {
	w := n.w
	if written := n.logEnd(part, false); end > written {
		w.failf("visibility", "%s of broker %d exposes partition %d up to offset %d; only %d are written", what, n.id, part, end, written)
		return
	}
	slack := core.Offset(w.policy.flushMessages - 1)
	if w.policy.flushMessages == math.MaxInt64 {
		return
	}
	if durable := n.logEnd(part, true); end-durable > slack {
		w.failf("durability", "%s of broker %d exposes partition %d up to offset %d; only %d are durable (flush.messages=%d)",
			what, n.id, part, end, durable, w.policy.flushMessages)
	}
}

// checkLogStart checks a revealed log start: retention by time alone may
// delete a segment only once its newest timestamp is more than
// retention.ms before the broker's clock, so every batch below the new
// log start must be that old.
func (n *node) checkLogStart(part int32, start core.Offset) {
	w := n.w
	d := &n.disk
	if d.starts == nil {
		d.starts = map[int32]core.Offset{}
	}
	prev := d.starts[part]
	if start <= prev {
		return
	}
	d.starts[part] = start
	if w.policy.retentionMs < 0 || w.policy.retentionBytes >= 0 || w.policy.compact {
		// No time rule, or size may explain any deletion, or the cleaner
		// lowered batches' max timestamps by removing their newest
		// records, which lets retention delete them sooner, as in Kafka.
		return
	}
	n.logEnd(part, false) // note the batches written so far
	// A replicated partition's log start is its leader's: a follower takes
	// it, so any replica's clock may have decided it.
	clock := n.coreClock
	if w.rf > 1 {
		for _, o := range w.nodes {
			clock = max(clock, o.coreClock)
		}
	}
	nowMs := clock.Millis()
	for _, b := range d.batches[part] {
		if b.last >= prev && b.last < start && nowMs-b.maxTs <= w.policy.retentionMs {
			w.failf("retention", "partition %d log start moved to %d, deleting the batch ending at %d with timestamp %d; the broker's clock %d is within retention.ms=%d of it",
				part, start, b.last, b.maxTs, nowMs, w.policy.retentionMs)
			return
		}
	}
}

// commitMark says a broker had committed partition offsets below end at
// instant at (it acknowledged a produce ending there).
type commitMark struct {
	at  core.Instant
	end core.Offset
}

// commitKey is a broker's partition: what one broker acknowledged says
// nothing of when another, deposed or not yet caught up, can serve it.
type commitKey struct {
	broker core.BrokerID
	part   int32
}

func (w *world) noteCommitted(broker core.BrokerID, part int32, end core.Offset) {
	if w.commits == nil {
		w.commits = map[commitKey][]commitMark{}
	}
	k := commitKey{broker, part}
	ms := w.commits[k]
	if n := len(ms); n > 0 && ms[n-1].end >= end {
		return
	}
	w.commits[k] = append(ms, commitMark{w.now, end})
}

// committedAt returns when broker first acknowledged data past offset
// from in partition part, if it has.
func (w *world) committedAt(broker core.BrokerID, part int32, from core.Offset) (core.Instant, bool) {
	ms := w.commits[commitKey{broker, part}]
	i := sort.Search(len(ms), func(i int) bool { return ms[i].end > from })
	if i == len(ms) {
		return 0, false
	}
	return ms[i].at, true
}

// disturb marks the broker's timing as disturbed by a fault until d from
// now (a pause, a held completion, a clock stepped back): latency checks
// skip responses whose wait overlaps it.
func (w *world) disturb(d core.Instant) {
	w.disturbedUntil = max(w.disturbedUntil, w.now+d)
	w.clientDisturbedUntil = max(w.clientDisturbedUntil, w.now+d+clientSettle)
}

// checkFetchLatency: a fetch (MinBytes 1) must be answered promptly once
// one of its partitions has committed data at or past its fetch offset:
// a parked long poll is woken by the data, not by MaxWaitMs. The bound
// covers the storage reads a woken fetch issues: at once for a fetch of
// v4 on, one partition after another for a down-converting one (v0-3,
// which holds its reads within the response limit); stretches disturbed
// by faults are not judged.
func (n *node) checkFetchLatency(req *kmsg.FetchRequest, arrived core.Instant) {
	w := n.w
	ready, readyPart := core.Instant(-1), int32(-1)
	for _, t := range req.Topics {
		if req.GetVersion() < 13 && t.Topic != w.topic {
			continue
		}
		for _, p := range t.Partitions {
			if at, ok := w.committedAt(n.id, p.Partition, core.Offset(p.FetchOffset)); ok {
				at = max(at, arrived)
				if ready < 0 || at < ready {
					ready, readyPart = at, p.Partition
				}
			}
		}
	}
	reads := core.Instant(1)
	if req.GetVersion() <= 3 {
		reads = 0
		for _, t := range req.Topics {
			reads += core.Instant(len(t.Partitions))
		}
	}
	bound := (1+reads)*n.storage.delayMax + w.burstWindow + 20e6
	if ready < 0 || w.disturbedUntil > ready || w.now-ready <= bound {
		return
	}
	w.failf("slow-fetch", "a fetch that reached broker %d at %s was answered at %s, %s after data it could read in partition %d was committed (bound %s)",
		n.id, fmtInstant(arrived), fmtInstant(w.now), fmtDur(w.now-ready), readyPart, fmtDur(bound))
}
