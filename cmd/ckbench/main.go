// Command ckbench measures produce and consume throughput and produce
// latency against a Cloud Kafka broker and, in the same run, against
// franz-go's in-memory kfake cluster as a reference peer and against a
// sink (sink.go) that acknowledges produces without storing them, which
// is the franz-go client's own ceiling on this machine.
//
// The matrix is record size (-sizes, default 1 KiB and 100 B) x acks
// (-acks, default all) x partitions (-partitions, default 6). For each
// cell ckbench creates a topic, produces N records asynchronously with at
// most -inflight records buffered, records each record's latency from
// the Produce call to its promise, then consumes the partitions directly
// (no consumer group) from the start until all N records are back. All
// the targets stay up, and each cell runs -runs times on each, the
// targets taking turns run by run (matrix.go); the table reports medians
// and the ratios to kfake and to the sink. Every run is bounded by
// -deadline.
//
// The group suite (group.go) then times how long a three-member franz-go
// group takes to rebalance after a member leaves, and the round-trip
// latency of offset commits. The replay suite (replay.go) times a restart
// of a broker holding -replay-groups groups until every group is served,
// against a restart with none and a plain read of the same files. The
// legacy suite (legacy.go) compares 0.9 and 0.10 clients, whose records
// the broker converts, with modern ones. The replication suite
// (replication.go) produces 1 KiB records with acks=all to three brokers
// and a ZooKeeper (replication factor 3, min.insync.replicas=2) and to a
// single broker in the same run, and reports the ratio of the two. The
// failover suite (failover.go) SIGKILLs a partition leader of such a
// cluster while a producer streams to it, and times until the partitions
// it led acknowledge writes again. The security suite (security.go)
// produces 1 KiB records with acks=all to one broker over its PLAINTEXT,
// SSL and SASL_SSL (SCRAM-SHA-256) listeners in turn, in the same run,
// and reports the TLS listeners' rates as ratios to PLAINTEXT's.
//
// The output ends with the goals of the performance work (goals.go,
// -summary), and -readme FILE rewrites FILE's benchmark section
// (readme.go) with the machine, the produce table and the goals; make
// bench passes -readme README.md.
//
// Unless -brokers is given, ckbench builds ./cmd/cloudkafka into a temporary
// directory and runs it on a free 127.0.0.1 port with a temporary log.dirs,
// stopping it at the end.
//
//	go run ./cmd/ckbench                       # every target and suite
//	go run ./cmd/ckbench -targets kfake        # the reference peer only
//	go run ./cmd/ckbench -suites produce -runs 2 -records 20000  # a quick look
//	go run ./cmd/ckbench -brokers host:9092    # an already running broker
//	go run ./cmd/ckbench -suites group         # only rebalances and commits
//	go run ./cmd/ckbench -suites replay        # only the __consumer_offsets replay
//	go run ./cmd/ckbench -suites legacy        # only 0.9/0.10 clients against modern ones
//	go run ./cmd/ckbench -suites replication   # only three brokers (rf=3) against one
//	go run ./cmd/ckbench -suites failover      # only the failover of a killed leader
//	go run ./cmd/ckbench -suites security      # only PLAINTEXT against SSL and SASL_SSL
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	brokers      string
	targets      []string
	records      int // records per 100 B cell; 1 KiB cells produce a quarter
	runsPerCell  int // runs of each cell on each target; the medians are reported
	inflight     int // records buffered in the producer at most
	deadline     time.Duration
	brokerBin    string
	brokerArgs   string
	sizes        []int
	partitions   []int
	acks         []string
	brokerLogOut bool

	manyPartitions        int // partitions of the many cell; 0: no many cell
	manyClients           int // clients of the many cell
	rssCapMiB             int // the cap on the brokers' peak RSS in the many cell
	floorMiB              int // bytes of each page-cache floor measurement (floor.go); 0: none
	queuedMaxRequestBytes int // passed to the brokers as queued.max.request.bytes; 0: not passed

	summary bool     // print the goals table (goals.go) after the others
	readme  string   // a file whose benchmark section (readme.go) the run rewrites; "": none
	args    []string // the arguments as given, for the README

	suites         []string
	replayGroups   int
	groupRounds    int           // rebalance rounds per balancer
	groupHeartbeat time.Duration // the members' heartbeat interval
	commits        int           // commit round trips per committer
	groupDeadline  time.Duration // bound on the whole group suite of a target

	replicationRecords int // records per replication cell, 1 KiB each
	replicationRounds  int // single-broker and cluster3 cells per target

	failoverRounds    int // leaders killed, one a round
	failoverSessionMs int // the brokers' zookeeper.session.timeout.ms

	securityRecords int // records per security run, 1 KiB each
	securityRounds  int // rounds of one run per listener
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ckbench: %v\n", err)
		os.Exit(2)
	}
	if err := run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "ckbench: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("ckbench", flag.ContinueOnError)
	fs.StringVar(&o.brokers, "brokers", "", "benchmark this running broker (host:port,...) instead of starting one")
	targets := fs.String("targets", "cloudkafka,durable,kfake,sink", "comma-separated targets: cloudkafka, durable (a second broker with log.flush.interval.messages=1; produce suite only, not with -brokers), kfake, sink (a server inside ckbench that acknowledges produces without storing them and serves fetches from one prebuilt batch: the client's ceiling)")
	fs.IntVar(&o.records, "records", 2000000, "records per 100 B cell (1 KiB cells produce a quarter as many)")
	fs.IntVar(&o.runsPerCell, "runs", 5, "produce suite: runs of each cell on each target, the targets taking turns run by run (the medians are reported)")
	fs.IntVar(&o.inflight, "inflight", 10000, "records buffered in the producer at most")
	fs.DurationVar(&o.deadline, "deadline", 60*time.Second, "bound on each cell (produce plus consume)")
	fs.StringVar(&o.brokerBin, "broker-bin", "", "prebuilt broker binary (default: build ./cmd/cloudkafka)")
	fs.StringVar(&o.brokerArgs, "broker-overrides", "", "extra broker overrides key=value,key=value")
	fs.BoolVar(&o.brokerLogOut, "broker-log", false, "copy the broker's log to stderr")
	sizes := fs.String("sizes", "1024,100", "produce suite: record value sizes in bytes")
	parts := fs.String("partitions", "6", "produce suite: partition counts")
	acks := fs.String("acks", "all", "produce suite: acks settings: 1, all")
	fs.IntVar(&o.manyPartitions, "many-partitions", 1000, "produce suite: partitions of the many cell (1 KiB records, acks=all, -many-clients clients at once); 0: no many cell")
	fs.IntVar(&o.manyClients, "many-clients", 100, "produce suite: franz-go clients of the many cell, each producing to and then consuming its share of the partitions")
	fs.IntVar(&o.rssCapMiB, "rss-cap-mib", 512, "produce suite: the cap the brokers' peak RSS in the many cell is compared with, in MiB")
	fs.IntVar(&o.floorMiB, "floor-mib", 1024, "produce suite: MiB of each part of the kernel floor, measured after each cloudkafka run beside the broker's CPU: fresh data written to the log file system, received from a loopback socket, sent with sendfile (0: none)")
	fs.IntVar(&o.queuedMaxRequestBytes, "queued-max-request-bytes", 100<<20, "produce suite: queued.max.request.bytes passed to the brokers ckbench starts; 0: not passed")
	fs.BoolVar(&o.summary, "summary", true, "print the goals of the performance issue (issue 13) with what this run measured, PASS or MISS")
	fs.StringVar(&o.readme, "readme", "", "after a run that completes, rewrite this file's section between "+readmeBegin+" and "+readmeEnd+" with the machine, the produce table and the goals (make bench passes README.md)")
	suites := fs.String("suites", "produce,group,replay,legacy,replication,failover,security,restart", "comma-separated suites: produce (the throughput matrix), group (rebalance time and commit latency), replay (__consumer_offsets replay at start; Cloud Kafka only), legacy (0.9 and 0.10 clients against modern ones; Cloud Kafka only), replication (three brokers and ZooKeeper, rf=3, against one broker; Cloud Kafka only), failover (time until a SIGKILLed leader's partitions take writes again; Cloud Kafka only), security (produce over PLAINTEXT, SSL and SASL_SSL listeners of one broker; Cloud Kafka only), restart (start times after SIGTERM and SIGKILL with -restart-bytes held; Cloud Kafka only)")
	fs.IntVar(&o.replayGroups, "replay-groups", 10000, "replay suite: groups committed before the restart")
	restartFlags(fs)
	fs.IntVar(&o.groupRounds, "group-rounds", 5, "group suite: rebalance rounds per balancer (the median is reported)")
	fs.DurationVar(&o.groupHeartbeat, "group-heartbeat", 250*time.Millisecond, "group suite: the members' heartbeat interval")
	fs.IntVar(&o.commits, "commits", 2000, "group suite: sequential commits per committer")
	fs.DurationVar(&o.groupDeadline, "group-deadline", 3*time.Minute, "bound on the group suite of each target")
	fs.IntVar(&o.replicationRecords, "replication-records", 200000, "replication suite: 1 KiB records per cell (each cell is also bounded by -deadline)")
	fs.IntVar(&o.replicationRounds, "replication-rounds", 3, "replication suite: rounds of a single-broker cell and a three-broker cell (the median ratio is reported)")
	fs.IntVar(&o.failoverRounds, "failover-rounds", 5, "failover suite: rounds, each killing partition 0's leader (the median is reported)")
	fs.IntVar(&o.failoverSessionMs, "failover-session-ms", failoverSessionMsDefault,
		fmt.Sprintf("failover suite: the brokers' zookeeper.session.timeout.ms (%d to %d, what the suite's ZooKeeper grants)", failoverSessionMsMin, failoverSessionMsMax))
	fs.IntVar(&o.securityRecords, "security-records", 100000, "security suite: 1 KiB records per run (each run is also bounded by -deadline)")
	fs.IntVar(&o.securityRounds, "security-rounds", 3, "security suite: rounds of one run per listener, in rotated order (the medians are reported)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.args = args
	o.targets = splitList(*targets)
	o.acks = splitList(*acks)
	o.suites = splitList(*suites)
	var err error
	if o.sizes, err = parseInts("sizes", *sizes, 1, 1<<20); err != nil {
		return o, err
	}
	if o.partitions, err = parseInts("partitions", *parts, 1, 1000); err != nil {
		return o, err
	}
	return o, validate(o)
}

func validate(o options) error {
	if o.records < 4 || o.records > 100_000_000 {
		return fmt.Errorf("-records %d: want 4 to 100000000", o.records)
	}
	if err := validateProduce(o); err != nil {
		return err
	}
	if o.inflight < 1 || o.inflight > 1_000_000 {
		return fmt.Errorf("-inflight %d: want 1 to 1000000", o.inflight)
	}
	if o.deadline <= 0 {
		return fmt.Errorf("-deadline %v: want a positive duration", o.deadline)
	}
	if o.groupRounds < 1 || o.groupRounds > 1000 {
		return fmt.Errorf("-group-rounds %d: want 1 to 1000", o.groupRounds)
	}
	if o.commits < 1 || o.commits > 1_000_000 {
		return fmt.Errorf("-commits %d: want 1 to 1000000", o.commits)
	}
	if o.groupHeartbeat <= 0 || o.groupDeadline <= 0 {
		return fmt.Errorf("-group-heartbeat %v, -group-deadline %v: want positive durations", o.groupHeartbeat, o.groupDeadline)
	}
	if o.replicationRecords < 4 || o.replicationRecords > 100_000_000 {
		return fmt.Errorf("-replication-records %d: want 4 to 100000000", o.replicationRecords)
	}
	if o.replicationRounds < 1 || o.replicationRounds > 100 {
		return fmt.Errorf("-replication-rounds %d: want 1 to 100", o.replicationRounds)
	}
	if o.failoverRounds < 1 || o.failoverRounds > 100 {
		return fmt.Errorf("-failover-rounds %d: want 1 to 100", o.failoverRounds)
	}
	if o.failoverSessionMs < failoverSessionMsMin || o.failoverSessionMs > failoverSessionMsMax {
		return fmt.Errorf("-failover-session-ms %d: want %d to %d", o.failoverSessionMs, failoverSessionMsMin, failoverSessionMsMax)
	}
	if o.securityRecords < 4 || o.securityRecords > 100_000_000 {
		return fmt.Errorf("-security-records %d: want 4 to 100000000", o.securityRecords)
	}
	if o.securityRounds < 1 || o.securityRounds > 100 {
		return fmt.Errorf("-security-rounds %d: want 1 to 100", o.securityRounds)
	}
	for _, s := range o.suites {
		if !slices.Contains(allSuites, s) {
			return fmt.Errorf("-suites: unknown suite %q; want one of %s", s, strings.Join(allSuites, ", "))
		}
	}
	if len(o.suites) == 0 {
		return fmt.Errorf("-suites: none given")
	}
	for _, t := range o.targets {
		if !slices.Contains(allTargets, t) {
			return fmt.Errorf("-targets: unknown target %q; want one of %s", t, strings.Join(allTargets, ", "))
		}
	}
	if len(o.targets) == 0 {
		return fmt.Errorf("-targets: none given")
	}
	for _, a := range o.acks {
		if a != "1" && a != "all" {
			return fmt.Errorf("-acks: unknown setting %q; want 1 or all", a)
		}
	}
	return nil
}

// validateProduce checks the produce suite's flags.
func validateProduce(o options) error {
	if o.runsPerCell < 1 || o.runsPerCell > 100 {
		return fmt.Errorf("-runs %d: want 1 to 100", o.runsPerCell)
	}
	if o.manyPartitions < 0 || o.manyPartitions > sinkPartitionsMax {
		return fmt.Errorf("-many-partitions %d: want 0 to %d", o.manyPartitions, sinkPartitionsMax)
	}
	if o.manyClients < 2 || o.manyClients > 1000 || (o.manyPartitions > 0 && o.manyClients > o.manyPartitions) {
		return fmt.Errorf("-many-clients %d: want 2 to 1000, and no more than -many-partitions", o.manyClients)
	}
	if o.rssCapMiB < 1 || o.queuedMaxRequestBytes < 0 || o.floorMiB < 0 {
		return fmt.Errorf("-rss-cap-mib %d, -queued-max-request-bytes %d: want a positive cap and a bound of 0 or more", o.rssCapMiB, o.queuedMaxRequestBytes)
	}
	return nil
}

const (
	targetCloudKafka = "cloudkafka"
	targetKfake      = "kfake"
	// targetSink is the client's ceiling (sink.go): it answers only the
	// produce suite's requests.
	targetSink = "sink"

	suiteProduce = "produce"
	suiteGroup   = "group"
	suiteReplay  = "replay"
	suiteLegacy  = "legacy"
)

// allTargets lists the targets; targetDurable is in durable.go.
var allTargets = []string{targetCloudKafka, targetDurable, targetKfake, targetSink}

// allSuites lists the suites; suiteReplication is in replication.go,
// suiteFailover in failover.go, suiteSecurity in security.go.
var allSuites = []string{suiteProduce, suiteGroup, suiteReplay, suiteLegacy, suiteReplication, suiteFailover, suiteSecurity, suiteRestart}

func (o options) runs(suite string) bool {
	for _, s := range o.suites {
		if s == suite {
			return true
		}
	}
	return false
}

// benchReport is what the suites measured, for the tables.
type benchReport struct {
	cells    []cellRuns  // the produce suite's, in matrix order
	floor    kernelFloor // the kernel floor's measurements (floor.go)
	halfLoad halfLoadReport
	// queuedStatus is what the cloudkafka broker said at start of
	// queued.max.request.bytes; "" when ckbench did not start it.
	queuedStatus string
	groups       []groupResult
	legacy       []result
	replication  []replicationRound
	failover     []failoverRound
	security     securityReport
	restart      restartReport
}

func (rep *benchReport) print(o options) {
	if o.runs(suiteProduce) {
		printProduceTable(os.Stdout, rep.cells, o)
		printNotes(os.Stdout, floorNote(rep.floor, int64(o.floorMiB)<<20))
		printNotes(os.Stdout, durableNotes(rep.cells, rep.halfLoad))
		printNotes(os.Stdout, manyNotes(rep.cells, o, rep.queuedStatus))
	}
	if o.runs(suiteGroup) {
		printGroupTable(os.Stdout, rep.groups, o)
	}
	if len(rep.legacy) > 0 {
		printLegacyTable(os.Stdout, rep.legacy)
	}
	printReplicationTable(os.Stdout, rep.replication, o)
	printFailoverTable(os.Stdout, rep.failover, o)
	printSecurityTable(os.Stdout, rep.security, o)
	printRestart(rep.restart)
	if o.summary {
		printGoals(os.Stdout, goals(rep, o))
	}
}

func run(ctx context.Context, o options) error {
	fmt.Printf("ckbench: GOMAXPROCS=%d, %d records per 100 B cell, %d runs a cell, inflight %d, deadline %v per cell\n",
		runtime.GOMAXPROCS(0), o.records, o.runsPerCell, o.inflight, o.deadline)
	if err := checkReadme(o); err != nil {
		return err
	}
	var rep benchReport
	if o.runs(suiteReplay) && o.brokers == "" {
		if err := benchReplay(ctx, o, o.replayGroups); err != nil {
			return fmt.Errorf("replay suite: %w", err)
		}
	}
	if err := runTargetSuites(ctx, o, &rep); err != nil {
		rep.print(o)
		return err
	}
	if err := runClusterSuites(ctx, o, &rep.replication, &rep.failover); err != nil {
		rep.print(o)
		return err
	}
	if err := runSecurity(ctx, o, &rep.security); err != nil {
		rep.print(o)
		return err
	}
	if err := runRestartSuite(ctx, o, &rep.restart); err != nil {
		rep.print(o)
		return err
	}
	rep.print(o)
	if o.readme == "" {
		return nil
	}
	if !o.runs(suiteProduce) {
		fmt.Fprintf(os.Stderr, "ckbench: -readme %s: left as it was: its section holds the produce suite's table, and the produce suite did not run\n", o.readme)
		return nil
	}
	if err := writeReadme(o.readme, &rep, o, o.args); err != nil {
		return fmt.Errorf("-readme: %w", err)
	}
	fmt.Fprintf(os.Stderr, "ckbench: rewrote the benchmark section of %s\n", o.readme)
	return nil
}

// checkReadme fails early, before the suites run, when -readme names a
// file without the markers, for a run that would rewrite it (one with the
// produce suite).
func checkReadme(o options) error {
	if o.readme == "" || !o.runs(suiteProduce) {
		return nil
	}
	doc, err := os.ReadFile(o.readme)
	if err != nil {
		return fmt.Errorf("-readme: %w", err)
	}
	if _, err := rewriteSection(string(doc), ""); err != nil {
		return fmt.Errorf("-readme %s: %w", o.readme, err)
	}
	return nil
}

// targetKinds lists the targets the produce, group and legacy suites
// run on, in -targets order: the produce suite uses every one; the
// group suite cloudkafka and kfake; the legacy suite cloudkafka. The
// other suites start what they measure themselves.
func targetKinds(o options) []string {
	var kinds []string
	for _, k := range o.targets {
		if k == targetDurable && o.brokers != "" {
			continue // ckbench starts it; -brokers says not to start brokers
		}
		if o.runs(suiteProduce) || (o.runs(suiteGroup) && (k == targetCloudKafka || k == targetKfake)) ||
			(o.runs(suiteLegacy) && k == targetCloudKafka) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// runTargetSuites starts the targets, keeps them up through the produce
// suite, then runs the legacy and group suites on each, filling rep
// also when a suite fails.
func runTargetSuites(ctx context.Context, o options, rep *benchReport) error {
	var ts []*benchTarget
	defer func() {
		for _, t := range ts {
			t.stop()
		}
	}()
	if o.brokers != "" && slices.Contains(o.targets, targetDurable) && o.runs(suiteProduce) {
		fmt.Fprintf(os.Stderr, "ckbench: target %s is a broker ckbench starts: it runs only without -brokers\n", targetDurable)
	}
	for _, kind := range targetKinds(o) {
		t, err := startTarget(ctx, o, kind)
		if err != nil {
			return fmt.Errorf("target %s: %w", kind, err)
		}
		ts = append(ts, t)
		if kind == targetCloudKafka {
			rep.queuedStatus = t.queuedStatus
		}
	}
	if o.runs(suiteProduce) {
		var err error
		if rep.cells, err = runProduceSuite(ctx, o, ts, &rep.floor); err != nil {
			return fmt.Errorf("produce suite: %w", err)
		}
		if err := runHalfLoad(ctx, o, findTarget(ts, targetDurable), findTarget(ts, targetSink), rep.cells, &rep.halfLoad); err != nil {
			return fmt.Errorf("produce suite, half load: %w", err)
		}
	}
	for _, t := range ts {
		if err := runLegacyAndGroup(ctx, o, t, rep); err != nil {
			return fmt.Errorf("target %s: %w", t.label, err)
		}
	}
	return nil
}

// runClusterSuites runs the suites that start their own ZooKeeper and
// brokers (replication, failover), filling what they measured, also
// when one fails.
func runClusterSuites(ctx context.Context, o options, replication *[]replicationRound, failover *[]failoverRound) error {
	if !o.runs(suiteReplication) && !o.runs(suiteFailover) {
		return nil
	}
	if o.brokers != "" || !slices.Contains(o.targets, targetCloudKafka) {
		fmt.Fprintf(os.Stderr, "ckbench: the replication and failover suites start their own brokers: they run only without -brokers and with target %s\n", targetCloudKafka)
		return nil
	}
	var err error
	if o.runs(suiteReplication) {
		if *replication, err = runReplicationSuite(ctx, o); err != nil {
			return fmt.Errorf("replication suite: %w", err)
		}
	}
	if o.runs(suiteFailover) {
		if *failover, err = runFailoverSuite(ctx, o); err != nil {
			return fmt.Errorf("failover suite: %w", err)
		}
	}
	return nil
}

// findTarget is the target of kind among ts, or nil.
func findTarget(ts []*benchTarget, kind string) *benchTarget {
	for _, t := range ts {
		if t.kind == kind {
			return t
		}
	}
	return nil
}

// runLegacyAndGroup runs the legacy suite (on cloudkafka) and the group
// suite (on cloudkafka and kfake) on t, into rep.
func runLegacyAndGroup(ctx context.Context, o options, t *benchTarget, rep *benchReport) error {
	if o.runs(suiteLegacy) && t.kind == targetCloudKafka {
		rs, err := runLegacySuite(ctx, t.seeds, t.label, o)
		rep.legacy = append(rep.legacy, rs...)
		if err != nil {
			return fmt.Errorf("legacy suite: %w", err)
		}
	}
	if o.runs(suiteGroup) && (t.kind == targetCloudKafka || t.kind == targetKfake) {
		fmt.Fprintf(os.Stderr, "ckbench: %s group rebalances and commits ...\n", t.label)
		g, err := runGroupSuite(ctx, t.seeds, t.label, o)
		rep.groups = append(rep.groups, g)
		if err != nil {
			return fmt.Errorf("group suite: %w", err)
		}
	}
	return nil
}

// matrix lists the produce suite's cells in a fixed order: size by
// acks by partitions, then the many cell (many.go).
func matrix(o options) []cell {
	var cells []cell
	for _, size := range o.sizes {
		n := o.records
		if size >= 1024 {
			n = o.records / 4
		}
		for _, acks := range o.acks {
			for _, p := range o.partitions {
				cells = append(cells, cell{size: size, acks: acks, partitions: p, records: n})
			}
		}
	}
	if c, ok := manyCell(o); ok {
		cells = append(cells, c)
	}
	return cells
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(name, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("-%s: %q is not a number from %d to %d", name, f, lo, hi)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s: none given", name)
	}
	return out, nil
}
